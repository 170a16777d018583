#pragma once
// The JSONata evaluator (internal): one Evaluator per evaluation, walking the processed tree as
// jsonata-js's evaluate() does. Errors are thrown as JsonataException and caught by Evaluate().
//
// Frames (variable scopes) live in the Evaluator's arena for the whole evaluation, so closures can hold
// plain pointers to them and a recursive closure does not leak through a reference cycle. The arena is
// allocated in chunks, the first one when the first frame is needed (an expression without blocks, lambdas
// or tuple bindings allocates none), and a frame keeps its first variable inline.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "statemachine/jsonata/ast.h"
#include "statemachine/jsonata/jsonata.h"
#include "statemachine/jsonata/lexer.h"
#include "statemachine/jsonata/value.h"

namespace stepflow::sm::jsonata {

class Evaluator;

// A variable scope. Lookups walk to the parent; the root resolves builtin functions.
struct Frame {
  Frame* parent = nullptr;
  absl::InlinedVector<std::pair<std::string, Value>, 1> vars;

  const Value* Lookup(std::string_view name) const;
  void Bind(std::string_view name, Value value);
};

// A builtin: `args` already checked against `signature` (context filled in, arrays wrapped).
using BuiltinFn = Value (*)(Evaluator& ev, std::vector<Value>& args, const Value& input);
struct Builtin {
  std::string name;
  std::string signature_text;
  BuiltinFn fn = nullptr;
  std::shared_ptr<const Signature> signature;
  int arity = 0;
};

struct Function {
  enum class Type : std::uint8_t { kLambda, kBuiltin, kPartial, kRegex, kChain, kTransform };
  Type type = Type::kLambda;
  // kLambda (and kTransform: the transform node)
  const Node* lambda = nullptr;
  Frame* closure = nullptr;
  Value input;
  // kBuiltin
  const Builtin* builtin = nullptr;
  // kChain: `target` then `bound[0]` (f ~> g).
  // kPartial: `target` applied to `bound`, with the placeholders (undefined + is_placeholder) filled in
  // order by the call's arguments.
  Value target;
  std::vector<Value> bound;
  std::vector<bool> is_placeholder;
  // kRegex
  std::shared_ptr<const RegexLiteral> regex;

  // Number of parameters (for $map & co. deciding how many arguments to pass).
  int Arity() const;
};

// The builtin of that name (without `$`), or nullptr.
const Builtin* FindBuiltin(std::string_view name);

class Evaluator {
 public:
  Evaluator(const EvaluationEnvironment& environment, const EvaluationLimits& limits)
      : environment_(environment), limits_(limits) {}

  Value Eval(const Node& node, const Value& input, Frame* env);
  // Applies a function value to arguments (validating them against its signature), running tail calls
  // in a loop. T1006 when `proc` is not a function.
  Value Apply(const Value& proc, std::vector<Value> args, const Value& input, Frame* env, std::int64_t pos);
  // Calls `fn` with (value, index, array) cut to the function's arity, as JSONata's higher-order
  // functions do.
  Value CallHof(const Value& fn, const Value& value, const Value& index, const Value& array, Frame* env);

  Frame* NewFrame(Frame* parent);
  Frame* root() { return &root_; }
  // Makes `input` the evaluation's `$$` (the root frame's "$"), held by the evaluator rather than bound in
  // the frame: an evaluation that never reads `$$` pays nothing for it.
  void SetRootInput(Value input) {
    root_input_ = std::move(input);
    has_root_input_ = true;
  }
  // The variable `name` as seen from `env` (`$$` falling back to the root input), or nullptr.
  const Value* LookupVariable(const Frame* env, std::string_view name) const {
    const Value* v = env->Lookup(name);
    return v != nullptr || !has_root_input_ || name != "$" ? v : &root_input_;
  }

  // Counts work against the step budget; U1001 when exhausted. Inline: every node evaluated pays it.
  void Charge(std::int64_t steps) {
    steps_ += steps;
    if (steps_ > limits_.max_steps) [[unlikely]] {
      FailOutOfSteps();
    }
  }
  // U1001 when `size` items exceed the sequence limit.
  void CheckSize(std::int64_t size) const;
  void CheckStringSize(std::size_t bytes) const;

  const EvaluationEnvironment& environment() const { return environment_; }
  // Keeps an expression compiled by $eval alive for the rest of the evaluation.
  void Retain(std::shared_ptr<const Expression> expression) { retained_.push_back(std::move(expression)); }
  std::int64_t current_position() const { return position_; }
  // The scope of the builtin call being run ($eval evaluates in it).
  Frame* call_env() { return call_env_ != nullptr ? call_env_ : &root_; }

 private:
  [[noreturn]] void FailOutOfSteps() const;
  Value EvalInner(const Node& node, const Value& input, Frame* env);
  // What Eval does after EvalInner when there is anything to do: the node's predicates, its grouping, and
  // the normalization of a result sequence (kept apart so that the common node pays none of it).
  Value FinishNode(const Node& node, Value result, Frame* env);
  Value EvalPath(const Node& node, const Value& input, Frame* env);
  Value EvalSequencePath(const Node& node, const Value& input, Frame* env);
  Value EvalStep(const Node& step, const Value& input_sequence, Frame* env, bool last_step);
  Value EvalTupleStep(const Node& step, const Value& input_sequence, Value tuples, Frame* env);
  Value EvalStages(const std::vector<NodePtr>& stages, Value input, Frame* env);
  Value EvalFilter(const Node& predicate, const Value& input, Frame* env);
  Value EvalGroup(const std::vector<std::pair<NodePtr, NodePtr>>& pairs, std::int64_t pos, const Value& input,
                  Frame* env);
  Value EvalObjectOfOne(const std::vector<std::pair<NodePtr, NodePtr>>& pairs, std::int64_t pos, const Value& input,
                        Frame* env);
  Value EvalSort(const Node& sort, const Value& input, Frame* env);
  Value EvalBinary(const Node& node, const Value& input, Frame* env);
  Value EvalArray(const Node& node, const Value& input, Frame* env);
  Value EvalCall(const Node& node, const Value& input, Frame* env, const Value* apply_to);
  Value EvalPartial(const Node& node, const Value& input, Frame* env);
  Value EvalApplyOperator(const Node& node, const Value& input, Frame* env);
  Value EvalTransform(const Node& node, const Value& input, Frame* env);
  Value EvalRegex(const Node& node);
  Value RunTransform(const Node& node, const Value& obj, Frame* env);
  Value ApplyInner(const Value& proc, std::vector<Value> args, const Value& input, Frame* env, std::int64_t pos);
  Frame* FrameFromTuple(Frame* env, const Value& tuple);
  // The function value of a builtin: one per builtin and evaluation (so `$string = $string`, as in
  // jsonata-js, and a builtin called per item is not allocated per item).
  Value BuiltinValue(const Builtin* builtin);

  const EvaluationEnvironment& environment_;
  const EvaluationLimits& limits_;
  ViewConversions conversions_;  // destroyed after the frames and values below
  Frame root_;
  Value root_input_;
  bool has_root_input_ = false;
  // The frame arena: chunks of growing size, `chunk_used_` frames taken from the last one.
  std::vector<std::unique_ptr<Frame[]>> frame_chunks_;
  std::size_t chunk_size_ = 0;
  std::size_t chunk_used_ = 0;
  std::vector<std::shared_ptr<const Expression>> retained_;
  int depth_ = 0;
  std::int64_t steps_ = 0;
  std::int64_t position_ = 0;
  Frame* call_env_ = nullptr;
  // (flat maps: an evaluation that calls no builtin pays nothing for them, not even in the destructor)
  absl::flat_hash_map<const Builtin*, Value> builtin_values_;
  // The builtin a variable node names once it was found unbound (the names of builtins do not change
  // during an evaluation; a variable bound later is still looked up first).
  absl::flat_hash_map<const Node*, Value> builtin_at_node_;
};

// A deep copy (JSON.parse(JSON.stringify(v)) in jsonata-js: functions dropped from objects).
Value Clone(const Value& v);
// The match object {match, start, end, groups} of the first match of `regex` in `subject` at or after
// byte `start`, or undefined.
Value RegexMatchObject(const RegexLiteral& regex, const std::string& subject, std::size_t start);

// Conversions at the API boundary.
Value FromJson(const boost::json::value& json);
// `json` read in place: a view of it (value.h), converted part by part as the expression reads it. The caller keeps `json`
// alive and unchanged for as long as any value made from it (or from its members) lives — in practice one
// evaluation whose result is converted back with ToJson before the input goes. Nesting deeper than
// kMaxValueDepth fails (U1001) when it is reached.
inline Value FromJsonInPlace(const boost::json::value& json) { return Value::InPlace(json, 0); }
// D1001-like failure for non-finite numbers; functions become "" (JSON.stringify in jsonata-js drops
// them in objects; at top level the CLI prints "").
boost::json::value ToJson(const Value& value, int depth = 0);

// A path of field names (optionally starting with a variable) with no predicates, bindings, grouping,
// sorting or `[]`: while every step yields one value that is not an array, it is a chain of lookups.
bool IsPlainPath(const Node& node);

// Helpers shared by the evaluator and the library.
bool IsSequence(const Value& v);
// JSONata's sequence normalisation at the end of evaluate(): empty -> undefined, one item -> the item
// (unless keep_singleton).
Value Normalize(Value v);
// fn.append
Value Append(const Value& a, const Value& b);
// Flattens arrays into `out`.
void FlattenInto(const Value& v, std::vector<Value>& out);
bool IsArrayOfNumbers(const Value& v);
bool IsArrayOfStrings(const Value& v);
// fn.lookup: the field `key` of an object, or of each object in an array (flattened).
Value LookupField(const Value& input, std::string_view key);
Value Wildcard(const Value& input);
Value Descendants(const Value& input, Evaluator* ev);
// D1001 for non-finite numbers.
bool IsNumeric(const Value& v);
// `a op b` for op one of + - * / % (JavaScript's arithmetic; % is fmod).
double ArithmeticResult(char op, double a, double b);

}  // namespace stepflow::sm::jsonata
