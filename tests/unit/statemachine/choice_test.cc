#include <gtest/gtest.h>
#include "statemachine/choice.h"

TEST(Pending, Compiles) { SUCCEED(); }
