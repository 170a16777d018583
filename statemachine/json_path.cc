// Implementation pending.
#include "statemachine/json_path.h"
