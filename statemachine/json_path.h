#pragma once
// The JSONPath dialect of the Amazon States Language.
//
// Three roots: `$` (the state's input), `$$` (the context object) and `$name` (a workflow variable set
// by Assign; `$name.field[0]` reads into it). After the root: `.name`, `['name']` / `["name"]` (with
// escapes), `[n]` (negative n counts from the end), `[*]` / `.*`, `..name` (deep scan), slices
// `[start:end:step]`, unions `[0,1]` / `['a','b']`, and filters `[?(@.x > 1)]` with ==, !=, <, <=, >, >=,
// =~ /regex/i, in, nin, contains, size, empty, subsetof, anyof, noneof, &&, ||, !, parentheses and
// existence `[?(@.x)]`. Filter operands are `@...` (the item), `$...` (the document the outer path reads),
// and JSON literals (strings may use single quotes).
//
// Dialect notes (Jayway JSONPath, as AWS runs it):
// - `.name` ends at `.` or `[`; it may hold any other character except whitespace and `(`.
// - A quoted name is taken verbatim: a backslash keeps the next character from closing the name and is
//   itself kept (AWS selects key `a\"b` with `$['a\"b']`).
// - Path functions (`.length()`, ...) are not supported: Parse rejects them.
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
#include "statemachine/eval_limits.h"
#include "statemachine/runtime_values.h"

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

  // The path `$` (the whole input), parsed once per process: what error causes that quote the input read.
  static const JsonPath& WholeInput();

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
  // True when Evaluate returns a single value rather than an array: a reference path, or a reference
  // path followed by one trailing union of names (`$.a['x','y']`, see Evaluate).
  bool IsDefinite() const;

  // Evaluates the path. Copies only the selected nodes, never the whole document.
  // - A reference path returns the single node it selects, or std::nullopt when that node does not exist.
  // - A reference path followed by a trailing union of names (`$.a['x','y']`) returns one object holding
  //   the listed names that exist (Jayway merges them), or std::nullopt when `$.a` is not an object.
  // - Any other path (wildcards, slices, unions, filters, deep scan) returns a JSON array of every
  //   node it matched, in document order (possibly empty). As in Jayway, it returns std::nullopt instead
  //   when the part of the path before the first wildcard/slice/union/filter/scan cannot be followed
  //   (a missing field, or a node of the wrong type: `$.missing[*]`, `$.a_string[0:2]`), since AWS
  //   reports such a path as not found.
  // - A root whose PathScope pointer is null (or an unknown variable) yields std::nullopt.
  // Evaluate with the default EvaluationLimits; a broken bound reads as std::nullopt. For tests and
  // tools; the interpreter uses EvaluateBounded so that a broken bound fails the state.
  std::optional<boost::json::value> Evaluate(const PathScope& scope) const;

  // As Evaluate, under `limits` (eval_limits.h): visiting more than limits.max_path_visits nodes gives a
  // States.Runtime failure, selecting more than limits.max_result_bytes a States.DataLimitExceeded
  // failure, each naming the path. Never allocates more than about limits.max_result_bytes.
  PathValue EvaluateBounded(const PathScope& scope, const EvaluationLimits& limits = {}) const;

  // Writes `value` at this reference path inside `target` (used by ResultPath). `$` replaces `target`
  // entirely. Missing intermediate object fields are created; returns false (and leaves `target`
  // unchanged) when the path cannot be written: it is not a reference path, its root is not `$`, or an
  // intermediate node is not an object (or an index is out of range / the node is not an array).
  bool Assign(boost::json::value& target, boost::json::value value) const;

  struct Impl;

 private:
  friend std::string NormalizedPathText(const JsonPath& path);

  explicit JsonPath(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// AWS's rendering of a path in error causes, e.g. `$.a.b[0]` prints as `$['a']['b'][0]`. Other
// segments print as Jayway prints them: `['a','b']`, `[0,1]`, `[*]`, `[1:]`, `..['a']`, and `[?]` for a
// filter. `$$` and `$name` roots are kept.
std::string NormalizedPathText(const JsonPath& path);

}  // namespace stepflow::sm
