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
// Values read from a JSON document in place (FromJsonInPlace) are views of it: a string, array or object of
// the input is a Value pointing at its JSON node, with nothing allocated, and reading a member of such an
// object looks it up in the JSON and gives another view. A view is converted into the evaluator's own
// string, Array or Object only when something asks for that (str(), array(), object()), once per Value
// (the conversion is kept in that Value: copies made before it convert on their own, to the same content).
// So an expression that reads three fields of each of 10,000 input objects allocates for none of them.
//
// Thread-safety: values are immutable once published; reference counts are atomic (std::shared_ptr).
// Views convert themselves when first read, so they belong to one evaluation (one thread).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

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
  // A view of `json`, a value at nesting `level` of a document read in place (scalars other than strings are
  // converted at once); U1001 when `level` exceeds kMaxValueDepth. The caller keeps `json` alive and
  // unchanged while the view (or anything made from it) lives.
  static Value InPlace(const boost::json::value& json, std::uint32_t level);
  // For a view of an array not converted yet: the sequence [this array] marked outer_wrapper (how jsonata-js wraps an array
  // input), made when first read. Any other value: itself.
  Value WrappedInSequence() const;

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
  // such as undefined, can never dereference null). str(), array() and object() convert a view.
  bool boolean() const { return kind_ == Kind::kBool && scalar_.boolean; }
  double number() const;
  const std::string& str() const;
  // The string without converting a view ("" for other kinds).
  std::string_view str_view() const;
  // The array may be shared: modify only one you just created.
  Array& array() const;
  Object& object() const;
  const Function& function() const;
  // The member `key` of an object (undefined when absent or not an object), without converting a view.
  Value Member(std::string_view key) const;
  // For value.cc: the array or object as converted (nullptr for other kinds and views not converted yet),
  // and the JSON of a view not converted yet (nullptr otherwise; a wrapped view is converted first).
  Array* raw_array() const { return kind_ == Kind::kArray ? static_cast<Array*>(ptr_.get()) : nullptr; }
  Object* raw_object() const { return kind_ == Kind::kObject ? static_cast<Object*>(ptr_.get()) : nullptr; }
  const boost::json::value* unconverted_json() const;
  // Identity of the payload (for `in`'s and transforms' reference comparisons): a view's JSON node, so that
  // every Value read from one node of the input is the same value.
  const void* identity() const;

 private:
  // A view of `json` (InPlace).
  Value(Kind kind, const boost::json::value* json, std::uint32_t level)
      : kind_(kind), in_place_(true), level_(level), scalar_{.json = json} {}
  // Makes ptr_ from the view (in_place_, ptr_ still null): the conversion ViewConversions holds, or a new one.
  void Convert() const;
  void ConvertAnew() const;

  Kind kind_ = Kind::kUndefined;
  // A view (scalar_.json is its JSON node, level_ its nesting in the document); ptr_ stays null until the
  // view is converted. `wrapped_`: the view stands for the sequence [json] (WrappedInSequence).
  bool in_place_ = false;
  bool wrapped_ = false;
  std::uint32_t level_ = 0;
  union Scalar {
    bool boolean;
    double number;
    const boost::json::value* json;
  } scalar_ = {false};
  mutable std::shared_ptr<void> ptr_;
};

// The views converted on this thread while one lives: a view converted once is shared by every later
// conversion of the same JSON node (read again through another Value, e.g. a member read in a loop) instead of
// converted again. One per evaluation (the Evaluator holds one; they nest, the innermost in use); without one,
// each conversion is a new one. Keeps what it holds alive until it goes.
class ViewConversions {
 public:
  ViewConversions() : previous_(current_) { current_ = this; }
  ~ViewConversions() { current_ = previous_; }
  ViewConversions(const ViewConversions&) = delete;
  ViewConversions& operator=(const ViewConversions&) = delete;

 private:
  friend class Value;
  // The innermost one alive on this thread, or nullptr.
  static inline thread_local ViewConversions* current_ = nullptr;
  ViewConversions* previous_;
  // By JSON node and nesting level (a node read from two roots at different levels converts twice).
  absl::flat_hash_map<std::pair<const boost::json::value*, std::uint32_t>, std::shared_ptr<void>> converted_;
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
  // Converted from a view: the JSON array this one stands for (ToJson copies it; its depth is measured from
  // it when first asked, kUnmeasured until then).
  const boost::json::array* source = nullptr;
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
  // Converted from a view, as Array::source.
  const boost::json::object* source = nullptr;

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

inline Value Value::WrappedInSequence() const {
  Value v = *this;
  v.wrapped_ = in_place_ && ptr_ == nullptr && kind_ == Kind::kArray;
  return v;
}

}  // namespace stepflow::sm::jsonata
