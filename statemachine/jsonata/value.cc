#include "statemachine/jsonata/value.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include <boost/json.hpp>

#include "absl/base/attributes.h"

#include "statemachine/jsonata/evaluator.h"
#include "statemachine/jsonata/lexer.h"

namespace stepflow::sm::jsonata {

namespace {
constexpr std::size_t kIndexThreshold = 8;

// A JSON scalar as a value (null, a boolean, a number, a string); nullopt for an array or an object. Shared by
// the two conversions below (in place and whole).
std::optional<Value> ScalarOf(const boost::json::value& json) {
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
    case boost::json::kind::array:
    case boost::json::kind::object:
      break;
  }
  return std::nullopt;
}

// What both conversions (in place and whole) do first with a value at nesting `level`: refuse it past
// kMaxValueDepth (U1001).
void CheckLevel(std::uint32_t level) {
  if (level > kMaxValueDepth) {
    Fail("U1001", -1, "value nesting");
  }
}

// A whole conversion's first step: CheckLevel, and the value converted when it is a scalar (nullopt for an
// array or an object).
std::optional<Value> ScalarAtLevel(const boost::json::value& json, std::uint32_t level) {
  CheckLevel(level);
  return ScalarOf(json);
}

// The items of the JSON array `a->source` as views at nesting `level`.
void FillIn(Array& a, std::uint32_t level) {
  a.items.reserve(a.source->size());
  for (const boost::json::value& item : *a.source) {
    a.items.push_back(Value::InPlace(item, level));
  }
}

void BuildIndex(Object& o) {
  if (o.entries.size() > kIndexThreshold) {
    o.index.reserve(o.entries.size());
    for (std::size_t i = 0; i < o.entries.size(); ++i) {
      o.index.emplace(o.entries[i].first, i);
    }
  }
}

// The members of the JSON object `o->source` as views at nesting `level`.
void FillIn(Object& o, std::uint32_t level) {
  o.entries.reserve(o.source->size());
  for (const auto& kv : *o.source) {
    o.entries.emplace_back(std::string(kv.key()), Value::InPlace(kv.value(), level));
  }
  BuildIndex(o);
}

// Nesting depth of `json` (0 for scalars), counted no further than kMaxValueDepth + 1.
std::uint32_t JsonDepth(const boost::json::value& json, std::uint32_t level) {
  if (level > kMaxValueDepth) {
    return 1;
  }
  std::uint32_t deepest = 0;
  if (const boost::json::array* a = json.if_array()) {
    for (const boost::json::value& item : *a) {
      deepest = std::max(deepest, JsonDepth(item, level + 1));
    }
    return deepest + 1;
  }
  if (const boost::json::object* o = json.if_object()) {
    for (const auto& kv : *o) {
      deepest = std::max(deepest, JsonDepth(kv.value(), level + 1));
    }
    return deepest + 1;
  }
  return 0;
}

std::uint32_t JsonDepthOf(const boost::json::array& a) {
  std::uint32_t deepest = 0;
  for (const boost::json::value& item : a) {
    deepest = std::max(deepest, JsonDepth(item, 1));
  }
  return deepest + 1;
}

std::uint32_t JsonDepthOf(const boost::json::object& o) {
  std::uint32_t deepest = 0;
  for (const auto& kv : o) {
    deepest = std::max(deepest, JsonDepth(kv.value(), 1));
  }
  return deepest + 1;
}

// The member `key` of `o`, or nullptr. A small object is scanned comparing lengths first (boost::json's own
// scan compares every key's bytes; the objects of a typical input are small, and this is the evaluator's
// most frequent lookup), a large one through its hash index.
const boost::json::key_value_pair* FindMember(const boost::json::object& o, std::string_view key) {
  constexpr std::size_t kScanned = 16;
  if (o.size() > kScanned) {
    auto it = o.find(key);
    return it == o.end() ? nullptr : &*it;
  }
  for (const boost::json::key_value_pair& kv : o) {
    const boost::json::string_view k = kv.key();
    if (k.size() == key.size() && std::memcmp(k.data(), key.data(), key.size()) == 0) {
      return &kv;
    }
  }
  return nullptr;
}

}  // namespace

double Value::number() const {
  return kind_ == Kind::kNumber ? scalar_.number : std::numeric_limits<double>::quiet_NaN();
}

Value Value::InPlace(const boost::json::value& json, std::uint32_t level) {
  CheckLevel(level);
  switch (json.kind()) {
    case boost::json::kind::string:
      return Value(Kind::kString, &json, level);
    case boost::json::kind::array:
      return Value(Kind::kArray, &json, level);
    case boost::json::kind::object:
      return Value(Kind::kObject, &json, level);
    default:
      return *ScalarOf(json);
  }
}

void Value::Convert() const {
  const boost::json::value& json = *scalar_.json;
  if (!wrapped_ && ViewConversions::current_ != nullptr) {
    std::shared_ptr<void>& known = ViewConversions::current_->converted_[{&json, level_}];
    if (known == nullptr) {
      ConvertAnew();
      known = ptr_;
    } else {
      ptr_ = known;
    }
    return;
  }
  ConvertAnew();
}

void Value::ConvertAnew() const {
  const boost::json::value& json = *scalar_.json;
  if (wrapped_) {
    auto a = std::make_shared<Array>();
    Value inner = *this;
    inner.wrapped_ = false;
    a->items.push_back(std::move(inner));
    a->sequence = true;
    a->outer_wrapper = true;
    a->depth = kUnmeasured + 1;  // DepthWith(1, the view)
    ptr_ = std::move(a);
    return;
  }
  switch (kind_) {
    case Kind::kString:
      ptr_ = std::make_shared<std::string>(json.get_string().data(), json.get_string().size());
      break;
    case Kind::kArray: {
      auto a = std::make_shared<Array>();
      a->source = &json.get_array();
      a->depth = kUnmeasured;
      FillIn(*a, level_ + 1);
      ptr_ = std::move(a);
      break;
    }
    case Kind::kObject: {
      auto o = std::make_shared<Object>();
      o->source = &json.get_object();
      o->depth = kUnmeasured;
      FillIn(*o, level_ + 1);
      ptr_ = std::move(o);
      break;
    }
    default:
      break;
  }
}

const boost::json::value* Value::unconverted_json() const {
  if (!in_place_ || ptr_ != nullptr) {
    return nullptr;
  }
  if (wrapped_) {
    Convert();
    return nullptr;
  }
  return scalar_.json;
}

const void* Value::identity() const {
  if (in_place_ && !wrapped_) {
    return scalar_.json;
  }
  if (in_place_ && ptr_ == nullptr) {
    Convert();
  }
  return ptr_.get();
}

std::string_view Value::str_view() const {
  if (kind_ != Kind::kString) {
    return {};
  }
  if (ptr_ == nullptr) {
    const boost::json::string& s = scalar_.json->get_string();
    return {s.data(), s.size()};
  }
  return *static_cast<const std::string*>(ptr_.get());
}

const std::string& Value::str() const {
  static const std::string kEmpty;
  if (kind_ != Kind::kString) {
    return kEmpty;
  }
  if (ptr_ == nullptr) {
    Convert();
  }
  return *static_cast<const std::string*>(ptr_.get());
}

Array& Value::array() const {
  if (kind_ == Kind::kArray) {
    if (ptr_ == nullptr) {
      Convert();
    }
    return *static_cast<Array*>(ptr_.get());
  }
  thread_local Array empty;
  empty = Array();
  return empty;
}

Object& Value::object() const {
  if (kind_ == Kind::kObject) {
    if (ptr_ == nullptr) {
      Convert();
    }
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

Array::Array(const Array& other) { *this = other; }

Array& Array::operator=(const Array& other) {
  if (this != &other) {
    items = other.items;  // `other` was filled in (read through Value::array())
    sequence = other.sequence;
    keep_singleton = other.keep_singleton;
    cons = other.cons;
    outer_wrapper = other.outer_wrapper;
    tuple_stream = other.tuple_stream;
    depth = other.depth;
    source = nullptr;
  }
  return *this;
}

Object::Object(const Object& other) { *this = other; }

Object& Object::operator=(const Object& other) {
  if (this != &other) {
    entries = other.entries;  // `other` was filled in (read through Value::object())
    index = other.index;
    depth = other.depth;
    source = nullptr;
  }
  return *this;
}

Value Value::Member(std::string_view key) const {
  if (kind_ != Kind::kObject) {
    return Value();
  }
  if (ptr_ == nullptr) {  // a view: look the member up in the JSON
    const boost::json::key_value_pair* kv = FindMember(scalar_.json->get_object(), key);
    return kv == nullptr ? Value() : InPlace(kv->value(), level_ + 1);
  }
  const Value* v = static_cast<const Object*>(ptr_.get())->Find(key);
  return v == nullptr ? Value() : *v;
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
  source = nullptr;  // changed: no longer the JSON it was read from
  depth = DepthWith(depth, value);
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
  source = nullptr;
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

namespace {

// The depth field of `v` as it stands (0 for scalars), without measuring.
std::uint32_t DepthField(const Value& v) {
  if (v.unconverted_json() != nullptr) {
    return v.is_string() ? 0 : kUnmeasured;
  }
  if (const Array* a = v.raw_array()) {
    return a->depth;
  }
  if (const Object* o = v.raw_object()) {
    return o->depth;
  }
  return 0;
}

}  // namespace

std::uint32_t ValueDepth(const Value& v) {
  if (const boost::json::value* json = v.unconverted_json()) {
    return JsonDepth(*json, 0);
  }
  if (Array* a = v.raw_array()) {
    if (a->depth >= kUnmeasured) {
      std::uint32_t depth = 1;
      if (a->source != nullptr) {
        depth = JsonDepthOf(*a->source);
      } else {
        for (const Value& item : a->items) {
          depth = std::max(depth, ValueDepth(item) + 1);
        }
      }
      a->depth = depth;
    }
    return a->depth;
  }
  if (Object* o = v.raw_object()) {
    if (o->depth >= kUnmeasured) {
      std::uint32_t depth = 1;
      if (o->source != nullptr) {
        depth = JsonDepthOf(*o->source);
      } else {
        for (const auto& entry : o->entries) {
          depth = std::max(depth, ValueDepth(entry.second) + 1);
        }
      }
      o->depth = depth;
    }
    return o->depth;
  }
  return 0;
}

std::uint32_t DepthWith(std::uint32_t depth, const Value& item, std::int64_t position) {
  const std::uint32_t item_field = DepthField(item);
  if (item_field >= kUnmeasured) {
    // Not measured yet: stay unmeasured while the chain of unmeasured containers down to values read in
    // place is short (measuring walks the JSON, which a wrapper around the input should not pay).
    const std::uint32_t levels = item_field - kUnmeasured + 1;
    if (levels <= kMaxUnmeasuredLevels) {
      const std::uint32_t mine = depth >= kUnmeasured ? depth - kUnmeasured : 0;
      return kUnmeasured + std::max(mine, levels);
    }
  }
  const std::uint32_t item_depth = ValueDepth(item) + 1;
  if (item_depth > kMaxValueDepth) {
    Fail("U1001", position, "value nesting");
  }
  return depth >= kUnmeasured ? depth : std::max(depth, item_depth);
}

namespace {

// The nesting depth of an array holding `items`; U1001 beyond kMaxValueDepth.
std::uint32_t DepthOf(const std::vector<Value>& items) {
  std::uint32_t depth = 1;
  for (const Value& item : items) {
    depth = DepthWith(depth, item);
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
      return !v.str_view().empty();
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
      return a.str_view() == b.str_view();
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
  if (std::optional<Value> scalar = ScalarAtLevel(json, level)) {
    return *std::move(scalar);
  }
  switch (json.kind()) {
    default:  // a scalar, above
      break;
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

boost::json::value NormalizedNumber(double d) {
  // Below 2^53 the conversion to int64 is exact for an integral d and truncates any other, so comparing the
  // round trip tells integral numbers apart without a call to floor (NaN fails the first test).
  if (std::fabs(d) < 9007199254740992.0) {
    const auto i = static_cast<std::int64_t>(d);
    if (static_cast<double>(i) == d) {
      return i;
    }
  }
  return d;
}

// A copy of JSON read in place as ToJson writes the values made from it: numbers as doubles (integers
// beyond 2^53 lose precision as JSON.parse loses it), integral ones as int64. The caller bounds the
// source's depth (kMaxValueDepth).
boost::json::value NormalizedCopy(const boost::json::value& json);

boost::json::array NormalizedCopy(const boost::json::array& a) {
  boost::json::array out;
  out.reserve(a.size());
  for (const boost::json::value& item : a) {
    out.push_back(NormalizedCopy(item));
  }
  return out;
}

boost::json::object NormalizedCopy(const boost::json::object& o) {
  boost::json::object out(o.size());
  for (const auto& kv : o) {
    out.emplace(kv.key(), NormalizedCopy(kv.value()));
  }
  return out;
}

// Whether some number of `json` is written differently by ToJson than it is held (an integral double, an
// integer at or beyond 2^53): if none is, a plain copy is the normalized copy.
bool NeedsNormalizing(const boost::json::value& json) {
  constexpr double kExact = 9007199254740992.0;
  switch (json.kind()) {
    case boost::json::kind::int64:
      return std::fabs(static_cast<double>(json.get_int64())) >= kExact;
    case boost::json::kind::uint64:
      return static_cast<double>(json.get_uint64()) >= kExact;
    case boost::json::kind::double_:
      return json.get_double() == std::floor(json.get_double());
    case boost::json::kind::array:
      for (const boost::json::value& item : json.get_array()) {
        if (NeedsNormalizing(item)) {
          return true;
        }
      }
      return false;
    case boost::json::kind::object:
      for (const auto& kv : json.get_object()) {
        if (NeedsNormalizing(kv.value())) {
          return true;
        }
      }
      return false;
    default:
      return false;
  }
}

// JsonDepth and NeedsNormalizing of `json` in one walk (ToJson asks both of the JSON it copies).
struct JsonShape {
  std::uint32_t depth = 0;
  bool needs_normalizing = false;
};

JsonShape ShapeOf(const boost::json::value& json, std::uint32_t level) {
  if (level > kMaxValueDepth) {
    return {1, false};  // too deep either way (as JsonDepth)
  }
  JsonShape shape;
  if (const boost::json::array* a = json.if_array()) {
    for (const boost::json::value& item : *a) {
      const JsonShape inner = ShapeOf(item, level + 1);
      shape.depth = std::max(shape.depth, inner.depth);
      shape.needs_normalizing = shape.needs_normalizing || inner.needs_normalizing;
    }
    ++shape.depth;
  } else if (const boost::json::object* o = json.if_object()) {
    for (const auto& kv : *o) {
      const JsonShape inner = ShapeOf(kv.value(), level + 1);
      shape.depth = std::max(shape.depth, inner.depth);
      shape.needs_normalizing = shape.needs_normalizing || inner.needs_normalizing;
    }
    ++shape.depth;
  } else {
    shape.needs_normalizing = NeedsNormalizing(json);
  }
  return shape;
}

// For ToJson of an array or object read in place from `source`, with `depth` its depth as known (or
// kUnmeasured): measures the depth when unknown (keeping it), fails U1001 beyond kMaxValueDepth, and returns
// whether a plain copy of `source` is its normalized copy.
// The members' values of an array or object.
template <typename F>
void ForEachChild(const boost::json::array& a, F&& f) {
  for (const boost::json::value& item : a) {
    f(item);
  }
}
template <typename F>
void ForEachChild(const boost::json::object& o, F&& f) {
  for (const auto& kv : o) {
    f(kv.value());
  }
}

// For ToJson of an array or object read in place from `source`, with `depth` its depth as known (or
// kUnmeasured): measures the depth when unknown (keeping it) in the same walk that looks for numbers to
// normalize, fails U1001 beyond kMaxValueDepth, and returns whether a plain copy of `source` is its
// normalized copy.
template <typename Container>
bool CheckedForCopy(const Container& source, std::uint32_t& depth) {
  JsonShape shape;
  if (depth < kUnmeasured) {
    ForEachChild(source, [&shape](const boost::json::value& item) {
      shape.needs_normalizing = shape.needs_normalizing || NeedsNormalizing(item);
    });
  } else {
    ForEachChild(source, [&shape](const boost::json::value& item) {
      const JsonShape inner = ShapeOf(item, 1);
      shape.depth = std::max(shape.depth, inner.depth);
      shape.needs_normalizing = shape.needs_normalizing || inner.needs_normalizing;
    });
    depth = shape.depth + 1;
  }
  if (depth > kMaxValueDepth) {
    Fail("U1001", -1, "value nesting");
  }
  return !shape.needs_normalizing;
}

boost::json::value NormalizedCopy(const boost::json::value& json) {
  switch (json.kind()) {
    case boost::json::kind::int64:
      return NormalizedNumber(static_cast<double>(json.get_int64()));
    case boost::json::kind::uint64:
      return NormalizedNumber(static_cast<double>(json.get_uint64()));
    case boost::json::kind::double_:
      return NormalizedNumber(json.get_double());
    case boost::json::kind::array:
      return NormalizedCopy(json.get_array());
    case boost::json::kind::object:
      return NormalizedCopy(json.get_object());
    default:
      return json;
  }
}

// ToJson of a view not converted: `source` copied (normalized where needed), its depth bounded.
template <typename Container>
boost::json::value CopyForOutput(const Container& source) {
  std::uint32_t depth = kUnmeasured;
  return CheckedForCopy(source, depth) ? boost::json::value(source) : boost::json::value(NormalizedCopy(source));
}

// ToJson of an array or an object (kept apart so that a scalar result does not pay for this part's frame).
ABSL_ATTRIBUTE_NOINLINE boost::json::value ContainerToJson(const Value& value, int depth) {
  if (value.is_array()) {
    if (const boost::json::value* json = value.unconverted_json()) {
      return CopyForOutput(json->get_array());
    }
    if (Array* a = value.raw_array(); a->source != nullptr) {
      const bool plain = CheckedForCopy(*a->source, a->depth);  // the source's depth is not bounded by its reader
      return plain ? boost::json::value(*a->source) : boost::json::value(NormalizedCopy(*a->source));
    }
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
  if (const boost::json::value* json = value.unconverted_json()) {
    return CopyForOutput(json->get_object());
  }
  if (Object* o = value.raw_object(); o->source != nullptr) {
    const bool plain = CheckedForCopy(*o->source, o->depth);
    return plain ? boost::json::value(*o->source) : boost::json::value(NormalizedCopy(*o->source));
  }
  boost::json::object out(value.object().entries.size());
  for (const auto& [k, v] : value.object().entries) {
    if (v.undefined() || v.is_function()) {
      continue;
    }
    out[k] = ToJson(v, depth + 1);
  }
  return out;
}

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
      return NormalizedNumber(d);
    }
    case Kind::kString:
      return boost::json::string(value.str_view());
    case Kind::kArray:
    case Kind::kObject:
      return ContainerToJson(value, depth);
    case Kind::kFunction:
      return "";
  }
  return nullptr;
}

}  // namespace stepflow::sm::jsonata
