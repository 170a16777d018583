#pragma once
// The JSONPath dialect of the Amazon States Language.
//
// Three roots: `$` (the state's input), `$$` (the context object) and `$name` (a workflow variable set
// by Assign; `$name.field[0]` reads into it). After the root: `.name`, `['name']` / `["name"]` (with
// escapes), `[n]` (negative n counts from the end), `[*]` / `.*`, `..name` (deep scan), slices
// `[start:end:step]`, unions `[0,1]` / `['a','b']`, and filters `[?(@.x > 1)]` with ==, !=, <, <=, >, >=,
// &&, || and existence `[?(@.x)]`.
//
// A *reference path* (required for ResultPath, Choice variables, ...) uses only names and single
// indexes: it selects at most one node.
//
// Thread-safety: a parsed JsonPath is immutable and may be shared between threads.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "absl/status/statusor.h"

namespace stepflow::sm {

// What a path reads from. Pointers are not owned and may be null (then that root selects nothing).
struct PathScope {
  const boost::json::value* input = nullptr;      // `$`
  const boost::json::value* context = nullptr;    // `$$`
  const boost::json::object* variables = nullptr; // `$name`
};

class JsonPath {
 public:
  enum class Root { kInput, kContext, kVariable };

  // Parses `text`. On a syntax error returns InvalidArgument whose message names the path and what is
  // wrong at which character offset, e.g. "invalid JSONPath '$.a[': unterminated '[' at offset 3".
  static absl::StatusOr<JsonPath> Parse(std::string_view text);

  JsonPath(const JsonPath&);
  JsonPath(JsonPath&&) noexcept;
  JsonPath& operator=(const JsonPath&);
  JsonPath& operator=(JsonPath&&) noexcept;
  ~JsonPath();

  const std::string& text() const;
  Root root() const;
  // For Root::kVariable, the variable's name (without `$`); empty otherwise.
  const std::string& variable_name() const;
  // True when the path selects at most one node by construction (names and single indexes only).
  bool IsReferencePath() const;

  // Evaluates the path.
  // - A reference path returns the single node it selects, or std::nullopt when that node does not exist.
  // - Any other path (wildcards, slices, unions, filters, deep scan) returns a JSON array of every
  //   node it matched, in document order (possibly empty); AWS/Jayway semantics.
  std::optional<boost::json::value> Evaluate(const PathScope& scope) const;

  // Writes `value` at this reference path inside `target` (used by ResultPath). `$` replaces `target`
  // entirely. Missing intermediate object fields are created; returns false (and leaves `target`
  // unchanged) when the path cannot be written: it is not a reference path, its root is not `$`, or an
  // intermediate node is not an object (or an index is out of range / the node is not an array).
  bool Assign(boost::json::value& target, boost::json::value value) const;

  struct Impl;

 private:
  explicit JsonPath(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// AWS's rendering of a path in error causes, e.g. `$.a.b[0]` prints as `$['a']['b'][0]`.
std::string NormalizedPathText(const JsonPath& path);

}  // namespace stepflow::sm
