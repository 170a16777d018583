#pragma once
// JSONata's run-time values (internal to statemachine/jsonata).
//
// A Value is a small handle: scalars inline, strings, arrays, objects and functions shared and immutable
// once built (an evaluation builds an array or object, then only reads it). Copying a Value copies a
// pointer, never a document. `undefined` is JSONata's "no value" and never appears inside an array or an
// object.
//
// Arrays carry JSONata's sequence flags: `sequence` (a result sequence, flattened and unwrapped when it
// holds one item), `keep_singleton` (the `[]` of a path), `cons` (built by an array constructor, so a path
// does not flatten it), `outer_wrapper`. Tuple streams (paths with `@`/`#` bindings) are separate.
//
// Values read from a JSON document in place (FromJsonInPlace) convert their members on first access, so an
// expression that reads three fields of a 10,000-object input converts those fields and not the rest.
//
// Thread-safety: values are immutable once published; reference counts are atomic (std::shared_ptr).
// Values made in place fill themselves in on first access, so they belong to one evaluation (one thread).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace boost::json {
class array;
class object;
class value;
}  // namespace boost::json

namespace stepflow::sm::jsonata {

struct Array;
struct Object;
struct Function;

enum class Kind : std::uint8_t { kUndefined, kNull, kBool, kNumber, kString, kArray, kObject, kFunction };

class Value {
 public:
  Value() = default;
  static Value Null() { Value v; v.kind_ = Kind::kNull; return v; }
  static Value Bool(bool b) { Value v; v.kind_ = Kind::kBool; v.scalar_.boolean = b; return v; }
  static Value Number(double d) { Value v; v.kind_ = Kind::kNumber; v.scalar_.number = d; return v; }
  static Value String(std::string s);
  static Value FromArray(std::shared_ptr<Array> a);
  static Value FromObject(std::shared_ptr<Object> o);
  static Value FromFunction(std::shared_ptr<const Function> f);

  Kind kind() const { return kind_; }
  bool undefined() const { return kind_ == Kind::kUndefined; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_number() const { return kind_ == Kind::kNumber; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }
  bool is_function() const { return kind_ == Kind::kFunction; }

  // The accessors are total: on a value of another kind they return false, NaN, "", a fresh empty
  // array/object, or an inert function (so that a builtin handed an argument its signature lets through,
  // such as undefined, can never dereference null).
  bool boolean() const { return kind_ == Kind::kBool && scalar_.boolean; }
  double number() const;
  const std::string& str() const;
  // The array may be shared: modify only one you just created.
  Array& array() const;
  Object& object() const;
  const Function& function() const;
  // The member `key` of an object (undefined when absent or not an object). Unlike object().Find, it does
  // not convert the other members of an object read in place.
  Value Member(std::string_view key) const;
  // The array or object without filling in one read in place (nullptr for other kinds): for value.cc.
  Array* raw_array() const { return kind_ == Kind::kArray ? static_cast<Array*>(ptr_.get()) : nullptr; }
  Object* raw_object() const { return kind_ == Kind::kObject ? static_cast<Object*>(ptr_.get()) : nullptr; }
  // Identity of the shared payload (for `in`'s and transforms' reference comparisons).
  const void* identity() const { return ptr_.get(); }

 private:
  Kind kind_ = Kind::kUndefined;
  union Scalar {
    bool boolean;
    double number;
  } scalar_ = {false};
  std::shared_ptr<void> ptr_;
};

struct Array {
  Array() = default;
  // A copy is a new array built by the evaluator: it does not stand for the JSON its original was read from.
  Array(const Array& other);
  Array& operator=(const Array& other);

  std::vector<Value> items;
  bool sequence = false;
  bool keep_singleton = false;
  bool cons = false;
  bool outer_wrapper = false;
  bool tuple_stream = false;  // items are tuple objects {"@": context, "name": binding, ...}
  // Nesting depth of arrays/objects inside (1 = holds no array or object), tracked where values nest so
  // that no value deeper than kMaxValueDepth is built (its destruction and printing recurse);
  // kUnmeasured and above until measured (DepthWith).
  std::uint32_t depth = 1;
  // Read in place (FromJsonInPlace): the JSON array this one stands for, `level` its nesting in the input.
  // `items` is filled from it on the first Value::array(); the array keeps `source` afterwards (ToJson
  // copies it) and `depth` is computed from it when first asked (kUnmeasured until then).
  const boost::json::array* source = nullptr;
  bool materialized = true;
  std::uint32_t level = 0;
};

// Deepest nesting of arrays and objects a value may have (input or built). Default 1,000.
inline constexpr std::uint32_t kMaxValueDepth = 1000;
// Nesting depth of `v` (0 for scalars), measured (and kept) when not known yet.
std::uint32_t ValueDepth(const class Value& v);
// A depth of kUnmeasured + k means "not measured yet": an array or object read in place (k = 0), or a
// container holding such values through k levels of unmeasured containers. ValueDepth measures it when
// asked (walking the JSON); DepthWith lets at most kMaxUnmeasuredLevels pile up before it measures, so
// that a value read in place (itself at most kMaxValueDepth deep once filled in) is never nested much
// deeper unchecked.
inline constexpr std::uint32_t kUnmeasured = 1u << 31;
inline constexpr std::uint32_t kMaxUnmeasuredLevels = 16;
// The depth of a container, now `depth`, once it also holds `item`; U1001 (at `position`) beyond
// kMaxValueDepth.
std::uint32_t DepthWith(std::uint32_t depth, const class Value& item, std::int64_t position = -1);

// An object keeps its keys in insertion order (as JavaScript does for non-index keys).
struct Object {
  Object() = default;
  // A copy (as a transform makes before changing it) does not stand for the JSON its original was read from.
  Object(const Object& other);
  Object& operator=(const Object& other);

  std::vector<std::pair<std::string, Value>> entries;
  // Index by key, built once the object has more than a few entries.
  std::unordered_map<std::string, std::size_t> index;
  std::uint32_t depth = 1;
  // Read in place, as Array::source: `entries` is filled on the first Value::object(); until then Member
  // converts one member at a time, keeping arrays and objects in `source_values` (by position in `source`),
  // which the entries reuse so that a member keeps its identity.
  const boost::json::object* source = nullptr;
  bool materialized = true;
  std::uint32_t level = 0;
  std::vector<Value> source_values;

  const Value* Find(std::string_view key) const;
  // Sets `key` (replacing its value, keeping its position, when present).
  void Set(std::string key, Value value);
  // Removes `key` if present.
  void Erase(std::string_view key);
};

// Helpers to build values.
Value MakeArray(std::vector<Value> items = {});
Value MakeSequence(std::vector<Value> items = {});
Value MakeObject();

// JSONata's truthiness ($boolean): undefined/null/false/0/""/empty array/empty object/function -> see
// functions; arrays are true when any member is.
bool Truthy(const Value& v);

// Deep equality as JSONata's `=` and $distinct use it (numbers by value, objects ignoring key order).
// The one place JSONata compares values; later to be pointed at the shared JSON value module.
bool DeepEqual(const Value& a, const Value& b);

}  // namespace stepflow::sm::jsonata
