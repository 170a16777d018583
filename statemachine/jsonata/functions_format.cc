// Number and date/time formatting builtins. Placeholder until the formatting module (number_format.h,
// datetime.h) is merged: these fail with D3000 "not available" rather than compute a wrong result.

#include "statemachine/jsonata/functions.h"

namespace stepflow::sm::jsonata::fn {
namespace {
[[noreturn]] void Unavailable(const char* name) { Fail("D3000", -1, name); }
}  // namespace

Value FormatNumber(Evaluator&, Args&, const Value&) { Unavailable("$formatNumber"); }
Value FormatBase(Evaluator&, Args&, const Value&) { Unavailable("$formatBase"); }
Value FormatInteger(Evaluator&, Args&, const Value&) { Unavailable("$formatInteger"); }
Value ParseInteger(Evaluator&, Args&, const Value&) { Unavailable("$parseInteger"); }
Value Now(Evaluator&, Args&, const Value&) { Unavailable("$now"); }
Value FromMillis(Evaluator&, Args&, const Value&) { Unavailable("$fromMillis"); }
Value ToMillis(Evaluator&, Args&, const Value&) { Unavailable("$toMillis"); }

}  // namespace stepflow::sm::jsonata::fn
