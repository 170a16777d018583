#pragma once
// Checking function arguments against a JSONata signature (internal).

#include <cstdint>
#include <vector>

#include "statemachine/jsonata/ast.h"
#include "statemachine/jsonata/value.h"

namespace stepflow::sm::jsonata {

// JSONata's type symbol of a value: s n b l a o f, m for undefined.
char TypeSymbol(const Value& v);

// The arguments as the function receives them: context values filled in for `-` parameters, single
// values wrapped for array parameters. Throws T0410/T0411/T0412.
std::vector<Value> ValidateArguments(const Signature& signature, const std::vector<Value>& args,
                                     const Value& context, std::int64_t position);

}  // namespace stepflow::sm::jsonata
