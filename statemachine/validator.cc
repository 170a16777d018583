// Implementation pending.
#include "statemachine/validator.h"
