// Paths: steps over sequences, tuple streams for `@`, `#` and `%`, predicates, grouping and sorting —
// jsonata-js 2.0.6's evaluatePath / evaluateStep / evaluateTupleStep / evaluateFilter.

#include <algorithm>
#include <cmath>

#include "statemachine/jsonata/evaluator.h"
#include "statemachine/jsonata/text.h"

namespace stepflow::sm::jsonata {

Value LookupField(const Value& input, std::string_view key) {
  if (input.is_array()) {
    std::vector<Value> out;
    for (const Value& item : input.array().items) {
      Value v = LookupField(item, key);
      if (v.undefined()) {
        continue;
      }
      if (v.is_array()) {
        out.insert(out.end(), v.array().items.begin(), v.array().items.end());
      } else {
        out.push_back(std::move(v));
      }
    }
    return MakeSequence(std::move(out));
  }
  return input.Member(key);
}

void FlattenInto(const Value& v, std::vector<Value>& out) {
  if (v.is_array()) {
    for (const Value& item : v.array().items) {
      FlattenInto(item, out);
    }
  } else if (!v.undefined()) {
    out.push_back(v);
  }
}

Value Wildcard(const Value& in) {
  Value input = in;
  if (input.is_array() && input.array().outer_wrapper && !input.array().items.empty()) {
    input = input.array().items[0];
  }
  std::vector<Value> out;
  if (input.is_array()) {
    for (const Value& v : input.array().items) {
      if (v.is_array()) {
        FlattenInto(v, out);
      } else {
        out.push_back(v);
      }
    }
  } else if (input.is_object()) {
    for (const auto& [k, v] : input.object().entries) {
      if (v.is_array()) {
        FlattenInto(v, out);
      } else {
        out.push_back(v);
      }
    }
  }
  return MakeSequence(std::move(out));
}

namespace {

void RecurseDescendants(const Value& input, std::vector<Value>& out, Evaluator* ev, int depth) {
  if (depth > 10000) {
    Fail("U1001", -1);
  }
  ev->Charge(1);
  if (!input.is_array()) {
    out.push_back(input);
  }
  if (input.is_array()) {
    for (const Value& item : input.array().items) {
      RecurseDescendants(item, out, ev, depth + 1);
    }
  } else if (input.is_object()) {
    for (const auto& [k, v] : input.object().entries) {
      RecurseDescendants(v, out, ev, depth + 1);
    }
  }
}

}  // namespace

Value Descendants(const Value& input, Evaluator* ev) {
  if (input.undefined()) {
    return Value();
  }
  std::vector<Value> out;
  RecurseDescendants(input, out, ev, 0);
  if (out.size() == 1) {
    return out[0];
  }
  return MakeSequence(std::move(out));
}

Frame* Evaluator::FrameFromTuple(Frame* env, const Value& tuple) {
  Frame* frame = NewFrame(env);
  for (const auto& [k, v] : tuple.object().entries) {
    frame->vars.emplace_back(k, v);
  }
  return frame;
}

namespace {

const Value& TupleFocus(const Value& tuple) {
  static const Value kUndefined;
  const Value* v = tuple.object().Find("@");
  return v == nullptr ? kUndefined : *v;
}

// createSequence(v): a sequence of the one value, even undefined (so that `{"a": 1}.a` works without input).
Value SequenceOf(const Value& v) {
  if (v.is_array()) {
    return v;
  }
  return MakeSequence({v});
}

}  // namespace

bool IsPlainPath(const Node& node) {
  if (node.keep_singleton_array || node.keep_array || node.has_group || node.tuple || node.has_seeking_parent ||
      !node.predicates.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < node.steps.size(); ++i) {
    const Node& step = *node.steps[i];
    const bool name = step.type == NodeType::kName || (i == 0 && step.type == NodeType::kVariable);
    if (!name || !step.stages.empty() || !step.predicates.empty() || step.tuple || !step.focus.empty() ||
        !step.index.empty() || step.ancestor != nullptr || step.has_group || step.keep_array || step.cons_array) {
      return false;
    }
  }
  return true;
}

// The sequence machinery of jsonata-js's evaluatePath gives the same value as plain lookups when each step
// has one input that is not an array and yields one value that is not an array: take that shortcut first
// (the common `a.b.c` and `$states.input.x`), and fall back to the general path as soon as it does not hold.
Value Evaluator::EvalPath(const Node& node, const Value& input, Frame* env) {
  if ((!input.is_array() || node.steps[0]->type == NodeType::kVariable) && IsPlainPath(node)) {
    Value current = input;
    bool plain = true;
    for (const NodePtr& step : node.steps) {
      current = Eval(*step, current, env);
      if (current.undefined()) {
        return current;
      }
      if (current.is_array()) {
        plain = false;
        break;
      }
    }
    if (plain) {
      return current;
    }
  }
  return EvalSequencePath(node, input, env);
}

Value Evaluator::EvalSequencePath(const Node& node, const Value& input, Frame* env) {
  Value input_sequence;
  if (input.is_array() && node.steps[0]->type != NodeType::kVariable) {
    input_sequence = input;
  } else {
    input_sequence = MakeSequence({input});  // createSequence(input): an array input stays one item
  }
  Value result;
  bool tuple_stream = false;
  Value tuples;
  for (std::size_t i = 0; i < node.steps.size(); ++i) {
    const Node& step = *node.steps[i];
    if (step.tuple) {
      tuple_stream = true;
    }
    if (i == 0 && step.cons_array) {
      result = Eval(step, input_sequence, env);
    } else if (tuple_stream) {
      tuples = EvalTupleStep(step, input_sequence, tuples, env);
    } else {
      result = EvalStep(step, input_sequence, env, i == node.steps.size() - 1);
    }
    if (!tuple_stream && (result.undefined() || (result.is_array() && result.array().items.empty()))) {
      break;
    }
    if (step.focus.empty()) {
      input_sequence = result;
    }
  }
  if (tuple_stream) {
    if (node.tuple) {
      result = tuples;
    } else {
      std::vector<Value> out;
      if (tuples.is_array()) {
        for (const Value& t : tuples.array().items) {
          out.push_back(TupleFocus(t));
        }
      }
      result = MakeSequence(std::move(out));
    }
  }
  if (node.keep_singleton_array) {
    if (result.is_array() && result.array().cons && !result.array().sequence) {
      result = MakeSequence({result});
      result.array().keep_singleton = true;
    } else if (result.is_array() && result.array().sequence) {
      Value copy = MakeSequence(result.array().items);
      copy.array().tuple_stream = result.array().tuple_stream;
      copy.array().keep_singleton = true;
      result = copy;
    }
  }
  if (node.has_group) {
    result = EvalGroup(node.group_pairs, node.group_position, tuple_stream ? tuples : result, env);
  }
  return result;
}

Value Evaluator::EvalStep(const Node& step, const Value& input, Frame* env, bool last_step) {
  if (step.type == NodeType::kSort) {
    Value result = EvalSort(step, input, env);
    if (!step.stages.empty()) {
      result = EvalStages(step.stages, result, env);
    }
    return result;
  }
  std::vector<Value> results;
  const std::vector<Value>& items = input.array().items;
  for (const Value& item : items) {
    Value res = Eval(step, item, env);
    for (const NodePtr& stage : step.stages) {
      res = EvalFilter(*stage->lhs, res, env);
    }
    if (!res.undefined()) {
      results.push_back(std::move(res));
    }
  }
  if (last_step && results.size() == 1 && results[0].is_array() && !results[0].array().sequence) {
    return results[0];
  }
  std::vector<Value> out;
  for (Value& res : results) {
    if (!res.is_array() || res.array().cons) {
      out.push_back(std::move(res));
    } else {
      out.insert(out.end(), res.array().items.begin(), res.array().items.end());
    }
  }
  CheckSize(static_cast<std::int64_t>(out.size()));
  return MakeSequence(std::move(out));
}

Value Evaluator::EvalStages(const std::vector<NodePtr>& stages, Value input, Frame* env) {
  Value result = std::move(input);
  for (const NodePtr& stage : stages) {
    if (stage->type == NodeType::kFilter) {
      result = EvalFilter(*stage->lhs, result, env);
    } else if (result.is_array()) {
      std::vector<Value> renumbered;
      std::int64_t index = 0;
      for (const Value& tuple : result.array().items) {
        auto copy = std::make_shared<Object>(tuple.object());
        copy->Set(stage->value, Value::Number(static_cast<double>(index++)));
        renumbered.push_back(Value::FromObject(std::move(copy)));
      }
      Value next = MakeSequence(std::move(renumbered));
      next.array().tuple_stream = result.array().tuple_stream;
      result = next;
    }
  }
  return result;
}

Value Evaluator::EvalTupleStep(const Node& step, const Value& input, Value tuples, Frame* env) {
  if (step.type == NodeType::kSort) {
    Value result;
    if (!tuples.undefined()) {
      result = EvalSort(step, tuples, env);
    } else {
      Value sorted = EvalSort(step, input, env);
      std::vector<Value> out;
      std::int64_t index = 0;
      for (const Value& item : sorted.array().items) {
        Value t = MakeObject();
        t.object().Set("@", item);
        if (!step.index.empty()) {
          t.object().Set(step.index, Value::Number(static_cast<double>(index)));
        }
        ++index;
        out.push_back(std::move(t));
      }
      result = MakeSequence(std::move(out));
      result.array().tuple_stream = true;
    }
    if (!step.stages.empty()) {
      result = EvalStages(step.stages, result, env);
    }
    return result;
  }
  if (tuples.undefined()) {
    std::vector<Value> initial;
    for (const Value& item : input.array().items) {
      Value t = MakeObject();
      t.object().Set("@", item);
      initial.push_back(std::move(t));
    }
    tuples = MakeSequence(std::move(initial));
  }
  std::vector<Value> out;
  for (const Value& tuple : tuples.array().items) {
    Frame* step_env = FrameFromTuple(env, tuple);
    const Value& focus = TupleFocus(tuple);
    Value res = Eval(step, focus, step_env);
    if (res.undefined()) {
      continue;
    }
    bool res_tuples = res.is_array() && res.array().tuple_stream;
    std::vector<Value> items = res.is_array() ? res.array().items : std::vector<Value>{res};
    for (std::size_t b = 0; b < items.size(); ++b) {
      auto t = std::make_shared<Object>(tuple.object());
      if (res_tuples) {
        for (const auto& [k, v] : items[b].object().entries) {
          t->Set(k, v);
        }
      } else {
        if (!step.focus.empty()) {
          t->Set(step.focus, items[b]);
          t->Set("@", focus);
        } else {
          t->Set("@", items[b]);
        }
        if (!step.index.empty()) {
          t->Set(step.index, Value::Number(static_cast<double>(b)));
        }
        if (step.ancestor != nullptr) {
          t->Set(step.ancestor->label, focus);
        }
      }
      out.push_back(Value::FromObject(std::move(t)));
    }
    CheckSize(static_cast<std::int64_t>(out.size()));
  }
  Value result = MakeSequence(std::move(out));
  result.array().tuple_stream = true;
  if (!step.stages.empty()) {
    result = EvalStages(step.stages, result, env);
  }
  return result;
}

Value Evaluator::EvalFilter(const Node& predicate, const Value& in, Frame* env) {
  bool tuple_stream = in.is_array() && in.array().tuple_stream;
  Value input = in.undefined() ? MakeSequence() : SequenceOf(in);
  const std::vector<Value>& items = input.array().items;
  std::vector<Value> out;
  Value result;
  if (predicate.type == NodeType::kNumber) {
    double index = std::floor(predicate.literal.number());
    if (index < 0) {
      index += static_cast<double>(items.size());
    }
    if (index >= 0 && index < static_cast<double>(items.size())) {
      const Value& item = items[static_cast<std::size_t>(index)];
      if (item.is_array()) {
        return item;
      }
      out.push_back(item);
    }
  } else {
    for (std::size_t i = 0; i < items.size(); ++i) {
      const Value& item = items[i];
      Value context = item;
      Frame* item_env = env;
      if (tuple_stream) {
        context = TupleFocus(item);
        item_env = FrameFromTuple(env, item);
      }
      Value res = Eval(predicate, context, item_env);
      if (IsNumeric(res)) {
        res = MakeArray({res});
      }
      if (IsArrayOfNumbers(res)) {
        for (const Value& n : res.array().items) {
          double index = std::floor(n.number());
          if (index < 0) {
            index += static_cast<double>(items.size());
          }
          if (index == static_cast<double>(i)) {
            out.push_back(item);
          }
        }
      } else if (Truthy(res)) {
        out.push_back(item);
      }
    }
  }
  result = MakeSequence(std::move(out));
  result.array().tuple_stream = tuple_stream;
  return result;
}

}  // namespace stepflow::sm::jsonata
