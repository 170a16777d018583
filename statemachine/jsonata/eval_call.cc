// Function calls, lambdas, partial application, tail calls (a trampoline over thunks), `~>`, transforms
// and regex literals — jsonata-js's evaluateFunction / apply / applyInner / evaluatePartialApplication /
// evaluateApplyExpression / evaluateTransformExpression.

#include <cmath>
#include <cstdlib>

#include "statemachine/jsonata/evaluator.h"
#include "statemachine/jsonata/js_number.h"
#include "statemachine/jsonata/parser.h"
#include "statemachine/jsonata/signature.h"

namespace stepflow::sm::jsonata {
namespace {

const Signature& TransformSignature() {
  static const std::shared_ptr<const Signature> kSignature = ParseSignature("(oa):o", 0);
  return *kSignature;
}

Value DeepClone(const Value& v, int depth) {
  if (depth > 10000) {
    Fail("U1001", -1);
  }
  if (v.is_array()) {
    auto a = std::make_shared<Array>(v.array());
    for (Value& item : a->items) {
      item = DeepClone(item, depth + 1);
    }
    return Value::FromArray(std::move(a));
  }
  if (v.is_object()) {
    auto o = std::make_shared<Object>();
    for (const auto& [k, item] : v.object().entries) {
      if (!item.is_function()) {
        o->Set(k, DeepClone(item, depth + 1));
      }
    }
    return Value::FromObject(std::move(o));
  }
  if (v.is_number() && std::isfinite(v.number())) {
    // jsonata-js clones through its own $string, which writes numbers with 15 significant digits
    return Value::Number(std::strtod(JsonataNumberToString(v.number()).c_str(), nullptr));
  }
  return v;
}

}  // namespace

Value Clone(const Value& v) { return DeepClone(v, 0); }

int Function::Arity() const {
  switch (type) {
    case Type::kLambda:
      return static_cast<int>(lambda->params.size());
    case Type::kBuiltin:
      return builtin->arity;
    case Type::kPartial: {
      int n = 0;
      for (bool p : is_placeholder) {
        n += p ? 1 : 0;
      }
      return n;
    }
    default:
      return 1;
  }
}

Value Evaluator::EvalCall(const Node& node, const Value& input, Frame* env, const Value* apply_to) {
  Value proc = Eval(*node.procedure, input, env);
  if (proc.undefined() && node.procedure->type == NodeType::kPath &&
      (LookupVariable(env, node.procedure->steps[0]->value) != nullptr ||
       FindBuiltin(node.procedure->steps[0]->value) != nullptr)) {
    Fail("T1005", node.position, node.procedure->steps[0]->value);
  }
  std::vector<Value> args;
  args.reserve(node.expressions.size() + 1);
  if (apply_to != nullptr) {
    args.push_back(*apply_to);
  }
  for (const NodePtr& arg : node.expressions) {
    args.push_back(Eval(*arg, input, env));
  }
  try {
    return Apply(proc, std::move(args), input, env, node.position);
  } catch (JsonataException& e) {
    if (e.error.position < 0) {
      e.error.position = node.position;
    }
    if (e.error.token.empty()) {
      e.error.token = node.procedure->type == NodeType::kPath ? node.procedure->steps[0]->value
                                                              : node.procedure->value;
    }
    throw;
  }
}

Value Evaluator::Apply(const Value& proc, std::vector<Value> args, const Value& input, Frame* env,
                       std::int64_t pos) {
  Value result = ApplyInner(proc, std::move(args), input, env, pos);
  while (result.is_function() && result.function().type == Function::Type::kLambda &&
         result.function().lambda->thunk) {
    const Function& thunk = result.function();
    const Node& call = *thunk.lambda->body;
    Frame* thunk_env = thunk.closure;
    Value thunk_input = thunk.input;
    Value next = Eval(*call.procedure, thunk_input, thunk_env);
    std::vector<Value> next_args;
    for (const NodePtr& arg : call.expressions) {
      next_args.push_back(Eval(*arg, thunk_input, thunk_env));
    }
    result = ApplyInner(next, std::move(next_args), input, env, call.position);
  }
  return result;
}

Value Evaluator::ApplyInner(const Value& proc, std::vector<Value> args, const Value& input, Frame* env,
                            std::int64_t pos) {
  position_ = pos;
  if (!proc.is_function()) {
    Fail("T1006", pos);
  }
  Charge(1);
  const Function& f = proc.function();
  switch (f.type) {
    case Function::Type::kLambda: {
      const Node& lambda = *f.lambda;
      if (lambda.signature) {
        args = ValidateArguments(*lambda.signature, args, input, pos);
      }
      Frame* frame = NewFrame(f.closure);
      for (std::size_t i = 0; i < lambda.params.size(); ++i) {
        frame->vars.emplace_back(lambda.params[i], i < args.size() ? args[i] : Value());
      }
      return Eval(*lambda.body, f.input, frame);
    }
    case Function::Type::kBuiltin: {
      if (f.builtin->signature) {
        args = ValidateArguments(*f.builtin->signature, args, input, pos);
      }
      call_env_ = env;
      return f.builtin->fn(*this, args, input);
    }
    case Function::Type::kPartial: {
      std::vector<Value> full;
      std::size_t next = 0;
      for (std::size_t i = 0; i < f.bound.size(); ++i) {
        if (f.is_placeholder[i]) {
          full.push_back(next < args.size() ? args[next] : Value());
          ++next;
        } else {
          full.push_back(f.bound[i]);
        }
      }
      return Apply(f.target, std::move(full), input, env, pos);
    }
    case Function::Type::kChain: {
      Value first = Apply(f.target, std::move(args), input, env, pos);
      return Apply(f.bound[0], {first}, input, env, pos);
    }
    case Function::Type::kTransform:
      args = ValidateArguments(TransformSignature(), args, input, pos);
      return RunTransform(*f.lambda, args.empty() ? Value() : args[0], f.closure);
    case Function::Type::kRegex: {
      if (args.empty() || !args[0].is_string()) {
        return Value();
      }
      return RegexMatchObject(*f.regex, args[0].str(), 0);
    }
  }
  Fail("T1006", pos);
}

Value Evaluator::CallHof(const Value& fn, const Value& value, const Value& index, const Value& array, Frame* env) {
  int arity = fn.is_function() ? fn.function().Arity() : 1;
  std::vector<Value> args{value};
  if (arity >= 2) {
    args.push_back(index);
  }
  if (arity >= 3) {
    args.push_back(array);
  }
  return Apply(fn, std::move(args), Value(), env, position_);
}

Value Evaluator::EvalPartial(const Node& node, const Value& input, Frame* env) {
  auto f = std::make_shared<Function>();
  f->type = Function::Type::kPartial;
  for (const NodePtr& arg : node.expressions) {
    if (arg->type == NodeType::kPlaceholder) {
      f->bound.emplace_back();
      f->is_placeholder.push_back(true);
    } else {
      f->bound.push_back(Eval(*arg, input, env));
      f->is_placeholder.push_back(false);
    }
  }
  Value proc = Eval(*node.procedure, input, env);
  if (proc.undefined() && node.procedure->type == NodeType::kPath &&
      (LookupVariable(env, node.procedure->steps[0]->value) != nullptr ||
       FindBuiltin(node.procedure->steps[0]->value) != nullptr)) {
    Fail("T1007", node.position, node.procedure->steps[0]->value);
  }
  if (!proc.is_function()) {
    Fail("T1008", node.position);
  }
  f->target = proc;
  return Value::FromFunction(std::move(f));
}

Value Evaluator::EvalApplyOperator(const Node& node, const Value& input, Frame* env) {
  Value lhs = Eval(*node.lhs, input, env);
  if (node.rhs->type == NodeType::kCall) {
    return EvalCall(*node.rhs, input, env, &lhs);
  }
  Value func = Eval(*node.rhs, input, env);
  if (!func.is_function()) {
    Fail("T2006", node.position);
  }
  if (lhs.is_function()) {
    auto chain = std::make_shared<Function>();
    chain->type = Function::Type::kChain;
    chain->target = lhs;
    chain->bound.push_back(func);
    return Value::FromFunction(std::move(chain));
  }
  return Apply(func, {lhs}, Value(), env, node.position);
}

Value Evaluator::EvalTransform(const Node& node, const Value& /*input*/, Frame* env) {
  auto f = std::make_shared<Function>();
  f->type = Function::Type::kTransform;
  f->lambda = &node;
  f->closure = env;
  return Value::FromFunction(std::move(f));
}

Value Evaluator::RunTransform(const Node& node, const Value& obj, Frame* env) {
  if (obj.undefined()) {
    return Value();
  }
  Value result = Clone(obj);
  Value matches = Eval(*node.pattern, result, env);
  if (matches.undefined()) {
    return result;
  }
  std::vector<Value> list = matches.is_array() ? matches.array().items : std::vector<Value>{matches};
  for (const Value& match : list) {
    Value update = Eval(*node.update, match, env);
    if (!update.undefined()) {
      if (!update.is_object()) {
        Fail("T2011", node.update->position);
      }
      if (match.is_object()) {
        for (const auto& [k, v] : update.object().entries) {
          match.object().Set(k, v);
        }
      }
    }
    if (node.remove) {
      Value deletions = Eval(*node.remove, match, env);
      if (deletions.undefined()) {
        continue;
      }
      std::vector<Value> names = deletions.is_array() ? deletions.array().items : std::vector<Value>{deletions};
      for (const Value& name : names) {
        if (!name.is_string()) {
          Fail("T2012", node.remove->position);
        }
      }
      if (match.is_object()) {
        for (const Value& name : names) {
          match.object().Erase(name.str());
        }
      }
    }
  }
  return result;
}

Value Evaluator::EvalRegex(const Node& node) {
  auto f = std::make_shared<Function>();
  f->type = Function::Type::kRegex;
  f->regex = node.regex;
  return Value::FromFunction(std::move(f));
}

}  // namespace stepflow::sm::jsonata
