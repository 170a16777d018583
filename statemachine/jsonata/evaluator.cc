// The evaluator's dispatch and its operators (paths in eval_path.cc, calls in eval_call.cc).

#include "statemachine/jsonata/evaluator.h"

#include <algorithm>
#include <cmath>

#include "statemachine/jsonata/text.h"

namespace stepflow::sm::jsonata {

const Value* Frame::Lookup(std::string_view name) const {
  for (const Frame* f = this; f != nullptr; f = f->parent) {
    for (auto it = f->vars.rbegin(); it != f->vars.rend(); ++it) {
      if (it->first == name) {
        return &it->second;
      }
    }
  }
  return nullptr;
}

void Frame::Bind(std::string_view name, Value value) {
  for (auto& [k, v] : vars) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars.emplace_back(std::string(name), std::move(value));
}

Frame* Evaluator::NewFrame(Frame* parent) {
  if (chunk_used_ == chunk_size_) {
    constexpr std::size_t kFirstChunk = 8;
    constexpr std::size_t kLargestChunk = 128;  // 18 KiB: well below malloc's mmap threshold
    chunk_size_ = chunk_size_ == 0 ? kFirstChunk : std::min(chunk_size_ * 2, kLargestChunk);
    frame_chunks_.push_back(std::make_unique<Frame[]>(chunk_size_));
    chunk_used_ = 0;
  }
  Frame* frame = &frame_chunks_.back()[chunk_used_++];
  frame->parent = parent;
  return frame;
}

void Evaluator::FailOutOfSteps() const { Fail("U1001", position_, "steps"); }

void Evaluator::CheckSize(std::int64_t size) const {
  if (size > limits_.max_sequence_size) {
    Fail("U1001", position_, "size");
  }
}

void Evaluator::CheckStringSize(std::size_t bytes) const {
  if (static_cast<std::int64_t>(bytes) > limits_.max_string_bytes) {
    Fail("U1001", position_, "string");
  }
}

bool IsSequence(const Value& v) { return v.is_array() && v.array().sequence; }

Value Normalize(Value v) {
  if (v.is_array() && v.array().sequence && !v.array().tuple_stream) {
    Array& a = v.array();
    if (a.items.empty()) {
      return Value();
    }
    if (a.items.size() == 1 && !a.keep_singleton) {
      return a.items[0];
    }
  }
  return v;
}

double ArithmeticResult(char op, double a, double b) {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b;
    default: return std::fmod(a, b);
  }
}

bool IsNumeric(const Value& v) {
  if (!v.is_number()) {
    return false;
  }
  if (std::isnan(v.number())) {
    return false;
  }
  if (!std::isfinite(v.number())) {
    Fail("D1001", -1);
  }
  return true;
}

Value Evaluator::Eval(const Node& node, const Value& input, Frame* env) {
  if (++depth_ > limits_.max_depth) {
    --depth_;
    Fail("U1001", node.position, "depth");
  }
  Charge(1);
  // A literal (the most frequent leaf) is copied here rather than through EvalInner's dispatch.
  const bool literal =
      node.type == NodeType::kString || node.type == NodeType::kNumber || node.type == NodeType::kValue;
  Value result = literal ? node.literal : EvalInner(node, input, env);
  if (!node.predicates.empty() || (node.type != NodeType::kPath && node.has_group) || result.is_array()) {
    result = FinishNode(node, std::move(result), env);
  }
  --depth_;
  return result;
}

Value Evaluator::FinishNode(const Node& node, Value result, Frame* env) {
  for (const NodePtr& predicate : node.predicates) {
    result = EvalFilter(*predicate->lhs, result, env);
  }
  if (node.type != NodeType::kPath && node.has_group) {
    result = EvalGroup(node.group_pairs, node.group_position, result, env);
  }
  if (result.is_array() && result.array().sequence && !result.array().tuple_stream) {
    if (node.keep_array) {
      result.array().keep_singleton = true;
    }
    result = Normalize(std::move(result));
  }
  return result;
}

Value Evaluator::BuiltinValue(const Builtin* builtin) {
  Value& value = builtin_values_[builtin];
  if (value.undefined()) {
    auto f = std::make_shared<Function>();
    f->type = Function::Type::kBuiltin;
    f->builtin = builtin;
    value = Value::FromFunction(std::move(f));
  }
  return value;
}

Value Evaluator::EvalInner(const Node& node, const Value& input, Frame* env) {
  switch (node.type) {
    case NodeType::kPath:
      return EvalPath(node, input, env);
    case NodeType::kBinary:
      return EvalBinary(node, input, env);
    case NodeType::kNegate: {
      Value v = Eval(*node.lhs, input, env);
      if (v.undefined()) {
        return v;
      }
      if (IsNumeric(v)) {
        return Value::Number(-v.number());
      }
      Fail("D1002", node.position, node.value);
    }
    case NodeType::kArray:
      return EvalArray(node, input, env);
    case NodeType::kObject:
      return EvalGroup(node.pairs, node.position, input, env);
    case NodeType::kName:
      return LookupField(input, node.value);
    case NodeType::kString:
    case NodeType::kNumber:
    case NodeType::kValue:
      return node.literal;
    case NodeType::kWildcard:
      return Wildcard(input);
    case NodeType::kDescendant:
      return Descendants(input, this);
    case NodeType::kParent: {
      const Value* v = env->Lookup(node.slot->label);
      return v == nullptr ? Value() : *v;
    }
    case NodeType::kCondition: {
      Value condition = Eval(*node.lhs, input, env);
      if (Truthy(condition)) {
        return Eval(*node.then_branch, input, env);
      }
      if (node.else_branch) {
        return Eval(*node.else_branch, input, env);
      }
      return Value();
    }
    case NodeType::kBlock: {
      Frame* frame = NewFrame(env);
      Value result;
      for (const NodePtr& e : node.expressions) {
        result = Eval(*e, input, frame);
      }
      return result;
    }
    case NodeType::kBind: {
      Value v = Eval(*node.rhs, input, env);
      env->Bind(node.lhs->value, v);
      return v;
    }
    case NodeType::kRegex:
      return EvalRegex(node);
    case NodeType::kCall:
      return EvalCall(node, input, env, nullptr);
    case NodeType::kVariable: {
      if (node.value.empty()) {
        if (input.is_array() && input.array().outer_wrapper && !input.array().items.empty()) {
          return input.array().items[0];
        }
        return input;
      }
      const Value* v = LookupVariable(env, node.value);
      if (v != nullptr) {
        return *v;
      }
      if (auto known = builtin_at_node_.find(&node); known != builtin_at_node_.end()) {
        return known->second;
      }
      const Builtin* builtin = environment_.extra_functions ? environment_.extra_functions(node.value) : nullptr;
      if (builtin == nullptr) {
        builtin = FindBuiltin(node.value);
      }
      if (builtin != nullptr) {
        Value f = BuiltinValue(builtin);
        builtin_at_node_.emplace(&node, f);
        return f;
      }
      return Value();
    }
    case NodeType::kLambda: {
      auto f = std::make_shared<Function>();
      f->type = Function::Type::kLambda;
      f->lambda = &node;
      f->closure = env;
      f->input = input;
      return Value::FromFunction(std::move(f));
    }
    case NodeType::kPartial:
      return EvalPartial(node, input, env);
    case NodeType::kApply:
      return EvalApplyOperator(node, input, env);
    case NodeType::kTransform:
      return EvalTransform(node, input, env);
    case NodeType::kPlaceholder:
    case NodeType::kSort:
    case NodeType::kFilter:
    case NodeType::kIndex:
      break;
  }
  Fail("S0206", node.position, node.value);
}

Value Evaluator::EvalArray(const Node& node, const Value& input, Frame* env) {
  Value result = MakeArray();
  bool plain = true;  // `result` still the array we made (not one returned by Append)
  for (const NodePtr& item : node.expressions) {
    Value v = Eval(*item, input, env);
    if (v.undefined()) {
      continue;
    }
    if (item->type == NodeType::kArray) {
      if (!plain) {
        result = MakeArray(result.array().items);
        plain = true;
      }
      result.array().items.push_back(std::move(v));
    } else {
      if (!plain) {
        result = MakeArray(result.array().items);
        plain = true;
      }
      if (v.is_array()) {
        auto& items = result.array().items;
        items.insert(items.end(), v.array().items.begin(), v.array().items.end());
      } else {
        result.array().items.push_back(std::move(v));
      }
    }
    CheckSize(static_cast<std::int64_t>(result.array().items.size()));
  }
  if (node.cons_array) {
    result.array().cons = true;
  }
  std::uint32_t depth = 1;
  for (const Value& item : result.array().items) {
    depth = DepthWith(depth, item, node.position);
  }
  result.array().depth = depth;
  return result;
}

namespace {

// `op` is one of = != < <= > >= (told apart by their first character and length, not compared as strings:
// this runs per item of a predicate).
Value Compare(const Node& node, const Value& lhs, const Value& rhs) {
  const std::string& op = node.value;
  if (op[0] == '=' || op[0] == '!') {
    if (lhs.undefined() || rhs.undefined()) {
      return Value::Bool(false);
    }
    bool eq = DeepEqual(lhs, rhs);
    return Value::Bool(op[0] == '=' ? eq : !eq);
  }
  bool lcomparable = lhs.undefined() || lhs.is_string() || lhs.is_number();
  bool rcomparable = rhs.undefined() || rhs.is_string() || rhs.is_number();
  if (!lcomparable || !rcomparable) {
    Fail("T2010", node.position, op);
  }
  if (lhs.undefined() || rhs.undefined()) {
    return Value();
  }
  if (lhs.kind() != rhs.kind()) {
    Fail("T2009", node.position, op);
  }
  int c;
  if (lhs.is_number()) {
    c = lhs.number() < rhs.number() ? -1 : lhs.number() > rhs.number() ? 1 : 0;
    if (std::isnan(lhs.number()) || std::isnan(rhs.number())) {
      return Value::Bool(false);
    }
  } else {
    c = CompareStrings(lhs.str_view(), rhs.str_view());
  }
  const bool or_equal = op.size() == 2;
  if (op[0] == '<') {
    return Value::Bool(or_equal ? c <= 0 : c < 0);
  }
  return Value::Bool(or_equal ? c >= 0 : c > 0);
}

Value Arithmetic(const Node& node, const Value& lhs, const Value& rhs) {
  if (!lhs.undefined() && !IsNumeric(lhs)) {
    Fail("T2001", node.position, node.value);
  }
  if (!rhs.undefined() && !IsNumeric(rhs)) {
    Fail("T2002", node.position, node.value);
  }
  if (lhs.undefined() || rhs.undefined()) {
    return Value();
  }
  return Value::Number(ArithmeticResult(node.value[0], lhs.number(), rhs.number()));
}

bool IsInteger(const Value& v) { return v.is_number() && std::isfinite(v.number()) && std::floor(v.number()) == v.number(); }

}  // namespace

Value Evaluator::EvalBinary(const Node& node, const Value& input, Frame* env) {
  Value lhs = Eval(*node.lhs, input, env);
  const std::string& op = node.value;
  position_ = node.position;
  // The binary operators are + - * / % = != < <= > >= & .. and or in: the first character tells them
  // apart but for the comparisons (Compare).
  if (op[0] == 'a') {  // and
    return Value::Bool(Truthy(lhs) && Truthy(Eval(*node.rhs, input, env)));
  }
  if (op[0] == 'o') {  // or
    return Value::Bool(Truthy(lhs) || Truthy(Eval(*node.rhs, input, env)));
  }
  Value rhs = Eval(*node.rhs, input, env);
  position_ = node.position;
  switch (op[0]) {
    case '+': case '-': case '*': case '/': case '%':
      return Arithmetic(node, lhs, rhs);
    case '=': case '!': case '<': case '>':
      return Compare(node, lhs, rhs);
    case '&': {
      // Strings (views of the input included) are appended as they are, without a copy of their own.
      std::string out = lhs.undefined() ? std::string() : lhs.is_string() ? std::string(lhs.str_view()) : Stringify(lhs, false, this);
      if (rhs.is_string()) {
        out += rhs.str_view();
      } else if (!rhs.undefined()) {
        out += Stringify(rhs, false, this);
      }
      CheckStringSize(out.size());
      return Value::String(std::move(out));
    }
    case '.': {  // '..'
      if (!lhs.undefined() && !IsInteger(lhs)) {
        Fail("T2003", node.position);
      }
      if (!rhs.undefined() && !IsInteger(rhs)) {
        Fail("T2004", node.position);
      }
      if (lhs.undefined() || rhs.undefined() || lhs.number() > rhs.number()) {
        return Value();
      }
      double size = rhs.number() - lhs.number() + 1;
      if (size > 1e7) {
        Fail("D2014", node.position);
      }
      CheckSize(static_cast<std::int64_t>(size));
      Charge(static_cast<std::int64_t>(size) / 16);
      std::vector<Value> items;
      items.reserve(static_cast<std::size_t>(size));
      for (double d = lhs.number(); d <= rhs.number(); d += 1) {
        items.push_back(Value::Number(d));
      }
      return MakeSequence(std::move(items));
    }
    case 'i': {  // in
      if (lhs.undefined() || rhs.undefined()) {
        return Value::Bool(false);
      }
      auto same = [&](const Value& item) {
        if (item.kind() != lhs.kind()) {
          return false;
        }
        if (item.is_array() || item.is_object() || item.is_function()) {
          return item.identity() == lhs.identity();
        }
        return DeepEqual(item, lhs);
      };
      if (rhs.is_array()) {
        for (const Value& item : rhs.array().items) {
          if (same(item)) {
            return Value::Bool(true);
          }
        }
        return Value::Bool(false);
      }
      return Value::Bool(same(rhs));
    }
    default:
      break;
  }
  Fail("S0204", node.position, op);
}

}  // namespace stepflow::sm::jsonata
