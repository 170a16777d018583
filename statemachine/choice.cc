// Implementation pending.
#include "statemachine/choice.h"
