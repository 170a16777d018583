// Object constructors and group-by (`{k: v}`, `path{k: v}`), and order-by (`^(...)`), as jsonata-js's
// evaluateGroupExpression and evaluateSortExpression.

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "statemachine/jsonata/evaluator.h"
#include "statemachine/jsonata/text.h"

namespace stepflow::sm::jsonata {
namespace {

// reduceTupleStream: one tuple whose bindings are the appended bindings of all tuples.
Value ReduceTuples(const Value& data) {
  if (!data.is_array()) {
    return data;
  }
  auto result = std::make_shared<Object>(data.array().items[0].object());
  for (std::size_t i = 1; i < data.array().items.size(); ++i) {
    for (const auto& [k, v] : data.array().items[i].object().entries) {
      const Value* existing = result->Find(k);
      result->Set(k, Append(existing == nullptr ? Value() : *existing, v));
    }
  }
  return Value::FromObject(std::move(result));
}

// A key that is a string literal and nothing more (no predicates or grouping of its own).
bool IsStringLiteral(const Node& key) {
  return key.type == NodeType::kString && key.predicates.empty() && !key.has_group;
}

// The context of a tuple ("@"), undefined when there is none.
Value FocusOf(const Value& tuple) {
  const Value* v = tuple.is_object() ? tuple.object().Find("@") : nullptr;
  return v == nullptr ? Value() : *v;
}

}  // namespace

// An object constructor over one value that is not an array, or over none (`{'a': x, 'b': y}` on an object
// or without input, the common case in ASL): every group holds that one value, so the general path's grouping (its item list, key index
// and per-group state) gives the same result as evaluating the keys, checking that no key repeats (D1009, as
// two pairs cannot form one group) and evaluating each value on the input in order.
Value Evaluator::EvalObjectOfOne(const std::vector<std::pair<NodePtr, NodePtr>>& pairs, std::int64_t pos,
                                 const Value& in, Frame* env) {
  constexpr std::size_t kLinearCheck = 16;  // up to this many pairs, repeated keys are found by comparing all
  std::vector<Value> keys;
  keys.reserve(pairs.size());
  std::unordered_map<std::string_view, std::size_t> seen;  // more pairs than kLinearCheck
  for (const auto& pair : pairs) {
    Value key = Eval(*pair.first, in, env);
    if (!key.undefined()) {
      if (!key.is_string()) {
        Fail("T1003", pos);
      }
      bool repeated = false;
      if (pairs.size() <= kLinearCheck) {
        for (std::size_t q = 0; q < keys.size() && !repeated; ++q) {
          repeated = !keys[q].undefined() && keys[q].str() == key.str();
        }
      } else {
        repeated = !seen.emplace(key.str(), keys.size()).second;
      }
      if (repeated) {
        Fail("D1009", pos, key.str());
      }
    }
    keys.push_back(std::move(key));
  }
  Value result = MakeObject();
  Object& object = result.object();
  object.entries.reserve(pairs.size());
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    if (keys[p].undefined()) {
      continue;
    }
    Value v = Eval(*pairs[p].second, in, env);
    object.depth = DepthWith(object.depth, v, pos);
    if (!v.undefined()) {
      object.Set(keys[p].str(), std::move(v));
    }
  }
  return result;
}

Value Evaluator::EvalGroup(const std::vector<std::pair<NodePtr, NodePtr>>& pairs, std::int64_t pos,
                           const Value& in, Frame* env) {
  if (!in.is_array()) {  // one value, or none (then one undefined item, as below)
    return EvalObjectOfOne(pairs, pos, in, env);
  }
  const bool reduce = in.is_array() && in.array().tuple_stream;
  std::vector<Value> items;
  if (in.is_array()) {
    items = in.array().items;
  } else if (!in.undefined()) {
    items.push_back(in);
  }
  if (items.empty()) {
    items.emplace_back();
  }
  // A group's data is the fold Append(Append(first, second), ...) over its items, built in O(items): once a
  // second item arrives the items go into one vector (arrays spliced, as Append does), made an array at
  // the end. (Appending to the group's array item by item copied it every time: O(items^2).)
  struct Group {
    Value data;
    std::size_t expr_index;
    std::vector<Value> items = {};
    bool expanded = false;

    void Add(const Value& v) {
      if (data.undefined() && !expanded) {
        data = v;
        return;
      }
      if (v.undefined()) {
        return;
      }
      if (!expanded) {
        items = data.is_array() ? data.array().items : std::vector<Value>{data};
        expanded = true;
      }
      if (v.is_array()) {
        items.insert(items.end(), v.array().items.begin(), v.array().items.end());
      } else {
        items.push_back(v);
      }
    }
    void Finish() {
      if (expanded) {
        data = MakeArray(std::move(items));
        items.clear();
        expanded = false;
      }
    }
  };
  std::vector<std::pair<std::string, Group>> groups;
  absl::flat_hash_map<std::string, std::size_t> index;  // looked up by the key's view: no copy per item
  if (!reduce && std::all_of(pairs.begin(), pairs.end(), [](const auto& pair) { return IsStringLiteral(*pair.first); })) {
    // Every key is a string literal: each item falls into every pair's group, so each pair forms one group
    // holding all items (the loop below would give the same groups, and D1009 at the first repeated key, on
    // the first item), and the items are appended once for all of them.
    Group all{Value(), 0};
    for (const Value& item : items) {
      all.Add(item);
    }
    all.Finish();
    for (std::size_t p = 0; p < pairs.size(); ++p) {
      const std::string& key = pairs[p].first->literal.str();
      if (!index.emplace(key, p).second) {
        Fail("D1009", pos, key);
      }
      groups.push_back({key, Group{all.data, p}});
    }
  } else {
    for (const Value& item : items) {
      Frame* item_env = reduce && item.is_object() ? FrameFromTuple(env, item) : env;
      Value context = reduce ? FocusOf(item) : item;
      for (std::size_t p = 0; p < pairs.size(); ++p) {
        Value key = Eval(*pairs[p].first, context, item_env);
        if (key.undefined()) {
          continue;
        }
        if (!key.is_string()) {
          Fail("T1003", pos);
        }
        const std::string_view name = key.str_view();
        auto it = index.find(absl::string_view(name.data(), name.size()));
        if (it != index.end()) {
          Group& g = groups[it->second].second;
          if (g.expr_index != p) {
            Fail("D1009", pos, key.str());
          }
          g.Add(item);
        } else {
          index.emplace(key.str(), groups.size());
          groups.push_back({key.str(), Group{item, p}});
        }
      }
    }
  }
  Value result = MakeObject();
  for (auto& [key, group] : groups) {
    group.Finish();
    Value context = group.data;
    Frame* group_env = env;
    if (reduce) {
      Value tuple = ReduceTuples(group.data);
      const Value* focus = tuple.object().Find("@");
      context = focus == nullptr ? Value() : *focus;
      tuple.object().Erase("@");
      group_env = FrameFromTuple(env, tuple);
    }
    Value v = Eval(*pairs[group.expr_index].second, context, group_env);
    result.object().depth = DepthWith(result.object().depth, v, pos);
    if (!v.undefined()) {
      result.object().Set(key, std::move(v));
    }
  }
  return result;
}

Value Evaluator::EvalSort(const Node& sort, const Value& input, Frame* env) {
  if (!input.is_array()) {
    return input;
  }
  const bool tuples = input.array().tuple_stream;
  const std::vector<Value>& items = input.array().items;
  // Evaluate every term once per item, then sort stably on the keys.
  std::vector<std::vector<Value>> keys(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    Value context = tuples ? FocusOf(items[i]) : items[i];
    Frame* item_env = tuples ? FrameFromTuple(env, items[i]) : env;
    for (const SortTerm& term : sort.sort_terms) {
      keys[i].push_back(Eval(*term.expression, context, item_env));
    }
  }
  auto compare = [&](std::size_t a, std::size_t b) {
    for (std::size_t t = 0; t < sort.sort_terms.size(); ++t) {
      const Value& x = keys[a][t];
      const Value& y = keys[b][t];
      int c;
      if (x.undefined()) {
        c = y.undefined() ? 0 : 1;
        if (c != 0) { return false; }
        continue;
      }
      if (y.undefined()) {
        return true;
      }
      if (!(x.is_string() || x.is_number()) || !(y.is_string() || y.is_number())) {
        Fail("T2008", sort.position);
      }
      if (x.kind() != y.kind()) {
        Fail("T2007", sort.position);
      }
      if (x.is_number()) {
        c = x.number() < y.number() ? -1 : x.number() > y.number() ? 1 : 0;
      } else {
        c = CompareStrings(x.str_view(), y.str_view());
      }
      if (c == 0) {
        continue;
      }
      if (sort.sort_terms[t].descending) {
        c = -c;
      }
      return c < 0;
    }
    return false;
  };
  std::vector<std::size_t> order(items.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(), compare);
  std::vector<Value> out;
  out.reserve(items.size());
  for (std::size_t i : order) {
    out.push_back(items[i]);
  }
  Value result = MakeSequence(std::move(out));
  result.array().tuple_stream = tuples;
  return result;
}

}  // namespace stepflow::sm::jsonata
