#include "statemachine/jsonata/value.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "statemachine/jsonata/evaluator.h"
#include "statemachine/jsonata/lexer.h"

namespace stepflow::sm::jsonata {

namespace {
constexpr std::size_t kIndexThreshold = 8;
}  // namespace

double Value::number() const {
  return kind_ == Kind::kNumber ? scalar_.number : std::numeric_limits<double>::quiet_NaN();
}

const std::string& Value::str() const {
  static const std::string kEmpty;
  return kind_ == Kind::kString ? *static_cast<const std::string*>(ptr_.get()) : kEmpty;
}

Array& Value::array() const {
  if (kind_ == Kind::kArray) {
    return *static_cast<Array*>(ptr_.get());
  }
  thread_local Array empty;
  empty = Array();
  return empty;
}

Object& Value::object() const {
  if (kind_ == Kind::kObject) {
    return *static_cast<Object*>(ptr_.get());
  }
  thread_local Object empty;
  empty = Object();
  return empty;
}

const Function& Value::function() const {
  if (kind_ == Kind::kFunction) {
    return *static_cast<const Function*>(ptr_.get());
  }
  thread_local Function inert;
  inert = Function();
  inert.type = Function::Type::kRegex;
  return inert;
}

Value Value::String(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.ptr_ = std::make_shared<std::string>(std::move(s));
  return v;
}

Value Value::FromArray(std::shared_ptr<Array> a) {
  Value v;
  v.kind_ = Kind::kArray;
  v.ptr_ = std::move(a);
  return v;
}

Value Value::FromObject(std::shared_ptr<Object> o) {
  Value v;
  v.kind_ = Kind::kObject;
  v.ptr_ = std::move(o);
  return v;
}

Value Value::FromFunction(std::shared_ptr<const Function> f) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.ptr_ = std::const_pointer_cast<Function>(std::move(f));
  return v;
}

const Value* Object::Find(std::string_view key) const {
  if (!index.empty()) {
    auto it = index.find(std::string(key));
    return it == index.end() ? nullptr : &entries[it->second].second;
  }
  for (const auto& [k, v] : entries) {
    if (k == key) {
      return &v;
    }
  }
  return nullptr;
}

void Object::Set(std::string key, Value value) {
  const std::uint32_t value_depth = ValueDepth(value) + 1;
  if (value_depth > kMaxValueDepth) {
    Fail("U1001", -1, "value nesting");
  }
  depth = std::max(depth, value_depth);
  if (!index.empty()) {
    auto it = index.find(key);
    if (it != index.end()) {
      entries[it->second].second = std::move(value);
      return;
    }
  } else {
    for (auto& [k, v] : entries) {
      if (k == key) {
        v = std::move(value);
        return;
      }
    }
  }
  entries.emplace_back(std::move(key), std::move(value));
  if (!index.empty()) {
    index.emplace(entries.back().first, entries.size() - 1);
  } else if (entries.size() > kIndexThreshold) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      index.emplace(entries[i].first, i);
    }
  }
}

void Object::Erase(std::string_view key) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].first == key) {
      entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
      index.clear();
      if (entries.size() > kIndexThreshold) {
        for (std::size_t j = 0; j < entries.size(); ++j) {
          index.emplace(entries[j].first, j);
        }
      }
      return;
    }
  }
}

std::uint32_t ValueDepth(const Value& v) {
  if (v.is_array()) {
    return v.array().depth;
  }
  if (v.is_object()) {
    return v.object().depth;
  }
  return 0;
}

namespace {

// The nesting depth of an array holding `items`; U1001 beyond kMaxValueDepth.
std::uint32_t DepthOf(const std::vector<Value>& items) {
  std::uint32_t depth = 1;
  for (const Value& item : items) {
    depth = std::max(depth, ValueDepth(item) + 1);
  }
  if (depth > kMaxValueDepth) {
    Fail("U1001", -1, "value nesting");
  }
  return depth;
}

}  // namespace

Value MakeArray(std::vector<Value> items) {
  auto a = std::make_shared<Array>();
  a->items = std::move(items);
  a->depth = DepthOf(a->items);
  return Value::FromArray(std::move(a));
}

Value MakeSequence(std::vector<Value> items) {
  auto a = std::make_shared<Array>();
  a->items = std::move(items);
  a->sequence = true;
  a->depth = DepthOf(a->items);
  return Value::FromArray(std::move(a));
}

Value MakeObject() { return Value::FromObject(std::make_shared<Object>()); }

bool Truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kNull:
      return false;
    case Kind::kBool:
      return v.boolean();
    case Kind::kNumber:
      return v.number() != 0;
    case Kind::kString:
      return !v.str().empty();
    case Kind::kArray:
      for (const Value& item : v.array().items) {
        if (Truthy(item)) {
          return true;
        }
      }
      return false;
    case Kind::kObject:
      return !v.object().entries.empty();
    case Kind::kFunction:
      return false;
  }
  return false;
}

bool DeepEqual(const Value& a, const Value& b) {
  if (a.identity() != nullptr && a.identity() == b.identity()) {
    return true;
  }
  if (a.kind() != b.kind()) {
    return false;
  }
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return a.boolean() == b.boolean();
    case Kind::kNumber:
      return a.number() == b.number();
    case Kind::kString:
      return a.str() == b.str();
    case Kind::kArray: {
      const auto& x = a.array().items;
      const auto& y = b.array().items;
      if (x.size() != y.size()) {
        return false;
      }
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!DeepEqual(x[i], y[i])) {
          return false;
        }
      }
      return true;
    }
    case Kind::kObject: {
      const Object& x = a.object();
      const Object& y = b.object();
      if (x.entries.size() != y.entries.size()) {
        return false;
      }
      for (const auto& [k, v] : x.entries) {
        const Value* other = y.Find(k);
        if (other == nullptr || !DeepEqual(v, *other)) {
          return false;
        }
      }
      return true;
    }
    case Kind::kFunction:
      return a.identity() == b.identity();
  }
  return false;
}

namespace {

Value FromJsonAt(const boost::json::value& json, std::uint32_t level);

}  // namespace

Value FromJson(const boost::json::value& json) { return FromJsonAt(json, 0); }

namespace {

Value FromJsonAt(const boost::json::value& json, std::uint32_t level) {
  if (level > kMaxValueDepth) {
    Fail("U1001", -1, "value nesting");
  }
  switch (json.kind()) {
    case boost::json::kind::null:
      return Value::Null();
    case boost::json::kind::bool_:
      return Value::Bool(json.get_bool());
    case boost::json::kind::int64:
      return Value::Number(static_cast<double>(json.get_int64()));
    case boost::json::kind::uint64:
      return Value::Number(static_cast<double>(json.get_uint64()));
    case boost::json::kind::double_:
      return Value::Number(json.get_double());
    case boost::json::kind::string:
      return Value::String(std::string(json.get_string()));
    case boost::json::kind::array: {
      auto a = std::make_shared<Array>();
      a->items.reserve(json.get_array().size());
      for (const boost::json::value& item : json.get_array()) {
        a->items.push_back(FromJsonAt(item, level + 1));
        a->depth = std::max(a->depth, ValueDepth(a->items.back()) + 1);
      }
      return Value::FromArray(std::move(a));
    }
    case boost::json::kind::object: {
      // A boost::json::object's keys are unique: entries are appended without Set's lookup, and the index
      // (for objects of more than kIndexThreshold entries) is built once at the end.
      const boost::json::object& from = json.get_object();
      auto o = std::make_shared<Object>();
      o->entries.reserve(from.size());
      for (const auto& kv : from) {
        Value v = FromJsonAt(kv.value(), level + 1);
        o->depth = std::max(o->depth, ValueDepth(v) + 1);
        o->entries.emplace_back(std::string(kv.key()), std::move(v));
      }
      if (o->entries.size() > kIndexThreshold) {
        o->index.reserve(o->entries.size());
        for (std::size_t i = 0; i < o->entries.size(); ++i) {
          o->index.emplace(o->entries[i].first, i);
        }
      }
      return Value::FromObject(std::move(o));
    }
  }
  return Value();
}

}  // namespace

namespace {
constexpr int kMaxOutputDepth = 2000;
}  // namespace

boost::json::value ToJson(const Value& value, int depth) {
  if (depth > kMaxOutputDepth) {
    Fail("U1001", -1);
  }
  switch (value.kind()) {
    case Kind::kUndefined:
    case Kind::kNull:
      return nullptr;
    case Kind::kBool:
      return value.boolean();
    case Kind::kNumber: {
      double d = value.number();
      if (!std::isfinite(d)) {
        Fail("D1001", -1);
      }
      if (d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
        return static_cast<std::int64_t>(d);
      }
      return d;
    }
    case Kind::kString:
      return boost::json::string(value.str());
    case Kind::kArray: {
      boost::json::array out;
      out.reserve(value.array().items.size());
      for (const Value& item : value.array().items) {
        if (item.undefined()) {
          continue;
        }
        out.push_back(item.is_function() ? boost::json::value("") : ToJson(item, depth + 1));
      }
      return out;
    }
    case Kind::kObject: {
      boost::json::object out;
      for (const auto& [k, v] : value.object().entries) {
        if (v.undefined() || v.is_function()) {
          continue;
        }
        out[k] = ToJson(v, depth + 1);
      }
      return out;
    }
    case Kind::kFunction:
      return "";
  }
  return nullptr;
}

}  // namespace stepflow::sm::jsonata
