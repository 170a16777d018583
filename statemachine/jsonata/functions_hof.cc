// Higher-order functions ($map, $filter, $single, $reduce, $sift, $each), the boolean and type
// functions, $error, $assert and $eval.

#include "statemachine/jsonata/functions.h"
#include "statemachine/jsonata/parser.h"

namespace stepflow::sm::jsonata::fn {

Value ToBoolean(const Value& v) {
  if (v.undefined()) {
    return Value();
  }
  if (v.is_function()) {
    return Value::Bool(false);
  }
  return Value::Bool(Truthy(v));
}

namespace {

// Calls the function argument a[1] on item `i` of the array argument a[0], as $map, $filter and $single
// do: (value, index, array), with the root as context.
Value CallOnItem(Evaluator& ev, Args& a, std::size_t i) {
  return ev.CallHof(a[1], a[0].array().items[i], Value::Number(static_cast<double>(i)), a[0], ev.root());
}

// Calls a[1] on one member of the object argument a[0], as $sift and $each do: (value, key, object).
Value CallOnMember(Evaluator& ev, Args& a, const std::string& key, const Value& value) {
  return ev.CallHof(a[1], value, Value::String(key), a[0], ev.root());
}

}  // namespace

Value Map(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::vector<Value> out;
  const auto& items = a[0].array().items;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Value r = CallOnItem(ev, a, i);
    if (!r.undefined()) {
      out.push_back(std::move(r));
    }
  }
  return MakeSequence(std::move(out));
}

Value Filter(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::vector<Value> out;
  const auto& items = a[0].array().items;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Value r = CallOnItem(ev, a, i);
    if (Truthy(ToBoolean(r))) {
      out.push_back(items[i]);
    }
  }
  return MakeSequence(std::move(out));
}

Value Single(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  bool found = false;
  Value result;
  const auto& items = a[0].array().items;
  for (std::size_t i = 0; i < items.size(); ++i) {
    bool pass = true;
    if (a.size() > 1 && !a[1].undefined()) {
      pass = Truthy(ToBoolean(CallOnItem(ev, a, i)));
    }
    if (pass) {
      if (found) {
        Fail("D3138", -1);
      }
      found = true;
      result = items[i];
    }
  }
  if (!found) {
    Fail("D3139", -1);
  }
  return result;
}

Value Reduce(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  int arity = a[1].function().Arity();
  if (arity < 2) {
    Fail("D3050", -1);
  }
  const auto& items = a[0].array().items;
  std::size_t index = 0;
  Value acc;
  if (a.size() > 2 && !a[2].undefined()) {
    acc = a[2];
  } else if (!items.empty()) {
    acc = items[0];
    index = 1;
  }
  for (; index < items.size(); ++index) {
    std::vector<Value> args{acc, items[index]};
    if (arity >= 3) {
      args.push_back(Value::Number(static_cast<double>(index)));
    }
    if (arity >= 4) {
      args.push_back(a[0]);
    }
    acc = ev.Apply(a[1], std::move(args), Value(), ev.root(), -1);
  }
  return acc;
}

Value Sift(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  Value result = MakeObject();
  for (const auto& [k, v] : a[0].object().entries) {
    if (Truthy(ToBoolean(CallOnMember(ev, a, k, v)))) {
      result.object().Set(k, v);
    }
  }
  return result.object().entries.empty() ? Value() : result;
}

Value Each(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::vector<Value> out;
  for (const auto& [k, v] : a[0].object().entries) {
    Value r = CallOnMember(ev, a, k, v);
    if (!r.undefined()) {
      out.push_back(std::move(r));
    }
  }
  return MakeSequence(std::move(out));
}

Value Boolean(Evaluator&, Args& a, const Value&) { return ToBoolean(a[0]); }

Value Not(Evaluator&, Args& a, const Value&) {
  Value b = ToBoolean(a[0]);
  return b.undefined() ? b : Value::Bool(!b.boolean());
}

Value Exists(Evaluator&, Args& a, const Value&) { return Value::Bool(!a.empty() && !a[0].undefined()); }

Value Type(Evaluator&, Args& a, const Value&) {
  switch (a[0].kind()) {
    case Kind::kUndefined: return Value();
    case Kind::kNull: return Value::String("null");
    case Kind::kBool: return Value::String("boolean");
    case Kind::kNumber: return Value::String("number");
    case Kind::kString: return Value::String("string");
    case Kind::kArray: return Value::String("array");
    case Kind::kObject: return Value::String("object");
    case Kind::kFunction: return Value::String("function");
  }
  return Value();
}

Value Error(Evaluator&, Args& a, const Value&) {
  JsonataException e;
  e.error.code = "D3137";
  e.error.message = !a.empty() && a[0].is_string() ? a[0].str() : "$error() function evaluated";
  throw e;
}

Value Assert(Evaluator&, Args& a, const Value&) {
  if (!a[0].boolean()) {
    JsonataException e;
    e.error.code = "D3141";
    e.error.message = a.size() > 1 && a[1].is_string() ? a[1].str() : "$assert() statement failed";
    throw e;
  }
  return Value();
}

Value Eval(Evaluator& ev, Args& a, const Value& input) {
  if (!ev.environment().allow_eval) {
    Fail("D3121", -1, "$eval is not allowed here");
  }
  if (a[0].undefined()) {
    return Value();
  }
  CompileResult compiled = Compile(a[0].str());
  if (compiled.error) {
    Fail("D3120", -1, compiled.error->message);
  }
  ev.Retain(compiled.expression);
  Value focus = a.size() > 1 && !a[1].undefined() ? a[1] : input;
  if (focus.is_array() && !focus.array().sequence) {
    Value wrapped = MakeSequence({focus});
    wrapped.array().outer_wrapper = true;
    focus = wrapped;
  }
  try {
    return ev.Eval(compiled.expression->root(), focus, ev.call_env());
  } catch (JsonataException& e) {
    if (e.error.code == "U1001") {
      throw;
    }
    Fail("D3121", -1, e.error.message);
  }
}

}  // namespace stepflow::sm::jsonata::fn
