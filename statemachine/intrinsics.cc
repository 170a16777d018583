// Implementation pending.
#include "statemachine/intrinsics.h"
