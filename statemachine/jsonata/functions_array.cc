// Array and object functions.

#include "statemachine/jsonata/functions.h"
#include "statemachine/jsonata/text.h"

namespace stepflow::sm::jsonata {

Value Append(const Value& a, const Value& b) {
  if (a.undefined()) {
    return b;
  }
  if (b.undefined()) {
    return a;
  }
  std::vector<Value> items = a.is_array() ? a.array().items : std::vector<Value>{a};
  if (b.is_array()) {
    items.insert(items.end(), b.array().items.begin(), b.array().items.end());
  } else {
    items.push_back(b);
  }
  return MakeArray(std::move(items));
}

bool IsArrayOfNumbers(const Value& v) {
  if (!v.is_array()) {
    return false;
  }
  for (const Value& item : v.array().items) {
    if (!item.is_number()) {
      return false;
    }
  }
  return true;
}

bool IsArrayOfStrings(const Value& v) {
  if (!v.is_array()) {
    return false;
  }
  for (const Value& item : v.array().items) {
    if (!item.is_string()) {
      return false;
    }
  }
  return true;
}

namespace fn {

Value Append(Evaluator& ev, Args& a, const Value&) {
  Value r = jsonata::Append(a[0], a[1]);
  if (r.is_array()) {
    ev.CheckSize(static_cast<std::int64_t>(r.array().items.size()));
  }
  return r;
}

Value Reverse(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::vector<Value> items(a[0].array().items.rbegin(), a[0].array().items.rend());
  return MakeArray(std::move(items));
}

namespace {

// jsonata-js's merge sort: `swap(a, b)` true puts b before a; stable otherwise.
template <typename Swap>
void MergeSort(std::vector<Value>& items, Swap swap) {
  if (items.size() < 2) {
    return;
  }
  std::vector<Value> buffer(items.size());
  for (std::size_t width = 1; width < items.size(); width *= 2) {
    for (std::size_t lo = 0; lo < items.size(); lo += 2 * width) {
      std::size_t mid = std::min(lo + width, items.size());
      std::size_t hi = std::min(lo + 2 * width, items.size());
      std::size_t i = lo;
      std::size_t j = mid;
      std::size_t k = lo;
      while (i < mid && j < hi) {
        if (swap(items[i], items[j])) {
          buffer[k++] = items[j++];
        } else {
          buffer[k++] = items[i++];
        }
      }
      while (i < mid) { buffer[k++] = items[i++]; }
      while (j < hi) { buffer[k++] = items[j++]; }
    }
    items.swap(buffer);
  }
}

}  // namespace

Value Sort(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::vector<Value> items = a[0].array().items;
  if (items.size() <= 1) {
    return a[0];
  }
  if (a.size() > 1 && !a[1].undefined()) {
    const Value& f = a[1];
    MergeSort(items, [&](const Value& x, const Value& y) {
      return Truthy(ev.Apply(f, {x, y}, Value(), ev.root(), -1));
    });
  } else if (IsArrayOfNumbers(a[0])) {
    MergeSort(items, [](const Value& x, const Value& y) { return x.number() > y.number(); });
  } else if (IsArrayOfStrings(a[0])) {
    MergeSort(items, [](const Value& x, const Value& y) { return CompareStrings(x.str_view(), y.str_view()) > 0; });
  } else {
    Fail("D3070", -1);
  }
  return MakeArray(std::move(items));
}

Value Shuffle(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  if (a[0].array().items.size() <= 1) {
    return a[0];
  }
  if (!ev.environment().random) {
    Fail("D3137", -1, "$shuffle() has no random source in this environment");
  }
  std::vector<Value> items = a[0].array().items;
  for (std::size_t i = items.size() - 1; i > 0; --i) {
    auto j = static_cast<std::size_t>(ev.environment().random() * static_cast<double>(i + 1));
    std::swap(items[i], items[std::min(j, i)]);
  }
  return MakeArray(std::move(items));
}

Value Distinct(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  if (!a[0].is_array() || a[0].array().items.size() <= 1) {
    return a[0];
  }
  std::vector<Value> out;
  for (const Value& item : a[0].array().items) {
    bool seen = false;
    for (const Value& o : out) {
      if (DeepEqual(o, item)) {
        seen = true;
        break;
      }
    }
    ev.Charge(static_cast<std::int64_t>(out.size()) / 64);
    if (!seen) {
      out.push_back(item);
    }
  }
  Value r = MakeArray(std::move(out));
  r.array().sequence = a[0].array().sequence;
  return r;
}

Value Zip(Evaluator&, Args& a, const Value&) {
  std::size_t length = SIZE_MAX;
  for (const Value& arr : a) {
    length = std::min(length, arr.undefined() ? 0 : arr.array().items.size());
  }
  if (a.empty()) {
    length = 0;
  }
  std::vector<Value> out;
  for (std::size_t i = 0; i < length; ++i) {
    std::vector<Value> tuple;
    for (const Value& arr : a) {
      tuple.push_back(arr.array().items[i]);
    }
    out.push_back(MakeArray(std::move(tuple)));
  }
  return MakeArray(std::move(out));
}

Value Keys(Evaluator&, Args& a, const Value&) {
  std::vector<Value> out;
  auto add = [&](const Value& obj) {
    for (const auto& [k, v] : obj.object().entries) {
      bool seen = false;
      for (const Value& o : out) {
        if (o.str() == k) {
          seen = true;
          break;
        }
      }
      if (!seen) {
        out.push_back(Value::String(k));
      }
    }
  };
  if (a[0].is_array()) {
    for (const Value& item : a[0].array().items) {
      if (item.is_object()) {
        add(item);
      }
    }
  } else if (a[0].is_object()) {
    add(a[0]);
  }
  return MakeSequence(std::move(out));
}

Value Lookup(Evaluator&, Args& a, const Value&) { return LookupField(a[0], a[1].str()); }

Value Spread(Evaluator&, Args& a, const Value&) {
  const Value& arg = a[0];
  if (arg.is_array()) {
    Value result;
    for (const Value& item : arg.array().items) {
      Args inner{item};
      Evaluator* none = nullptr;
      (void)none;
      Value spread;
      if (item.is_object()) {
        std::vector<Value> parts;
        for (const auto& [k, v] : item.object().entries) {
          Value o = MakeObject();
          o.object().Set(k, v);
          parts.push_back(std::move(o));
        }
        spread = MakeSequence(std::move(parts));
      } else {
        spread = item;
      }
      result = jsonata::Append(result, spread);
    }
    return result;
  }
  if (arg.is_object()) {
    std::vector<Value> parts;
    for (const auto& [k, v] : arg.object().entries) {
      Value o = MakeObject();
      o.object().Set(k, v);
      parts.push_back(std::move(o));
    }
    return MakeSequence(std::move(parts));
  }
  return arg;
}

Value Merge(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  Value result = MakeObject();
  for (const Value& obj : a[0].array().items) {
    for (const auto& [k, v] : obj.object().entries) {
      result.object().Set(k, v);
    }
  }
  return result;
}

Value Clone(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  return jsonata::Clone(a[0]);
}

}  // namespace fn
}  // namespace stepflow::sm::jsonata
