// Implementation pending.
#include "storage/store.h"
