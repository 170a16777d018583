#pragma once
// The JSONata syntax tree after the parser's post-processing (paths flattened into steps, predicates and
// `#`/`@` bindings attached to steps as stages, group-by attached to its step), as jsonata-js 2.0.6 builds
// it. Positions are byte offsets of the end of the token in the UTF-8 text (Compile and Evaluate report
// them in UTF-16 code units, as jsonata-js does).
// Immutable once compiled.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "statemachine/bounded_regex.h"
#include "statemachine/jsonata/value.h"

namespace stepflow::sm::jsonata {

enum class NodeType : std::uint8_t {
  kString, kNumber, kValue, kRegex, kName, kVariable, kWildcard, kDescendant, kParent,
  kPath, kBinary, kNegate, kArray, kObject, kBlock, kCondition, kCall, kPartial, kLambda,
  kPlaceholder, kBind, kApply, kTransform, kSort, kFilter, kIndex
};

// A function signature such as `<n-n:n>` or `<a<n>f?:a>`.
struct SignatureParam {
  std::string types;      // one or more of "abnsloxfuj"; "x" is any
  bool context = false;   // '-': taken from the context when missing
  bool optional = false;  // '?'
  bool variadic = false;  // '+'
  std::string subtype;    // the `a<n>` array member type, when given
};
struct Signature {
  std::vector<SignatureParam> params;
  std::string text;
  std::string regex_text;                    // over argument type symbols, one group per parameter
  std::vector<std::string> param_regexes;
  std::shared_ptr<const BoundedRegex> regex;
};

struct ParentSlot {
  std::string label;
  int level = 1;
  int index = 0;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct SortTerm {
  bool descending = false;
  NodePtr expression;
};

struct RegexLiteral {
  std::string pattern;
  std::string flags;
  std::shared_ptr<const BoundedRegex> regex;
};

struct Node {
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Frees the subtree with an explicit worklist: a parsed chain such as `a.a.a...` is a left-deep tree as
  // deep as the expression is long, and member-wise destruction would recurse once per level.
  ~Node();

  NodeType type = NodeType::kValue;
  std::int64_t position = 0;
  std::string value;       // operator, name, string literal, variable name
  Value literal;           // kString/kNumber/kValue
  std::shared_ptr<const RegexLiteral> regex;

  NodePtr lhs, rhs;        // binary, bind, apply, condition (lhs = condition)
  NodePtr then_branch, else_branch;
  std::vector<NodePtr> steps;        // kPath
  std::vector<NodePtr> expressions;  // kArray, kBlock, call arguments, sort stage terms via sort_terms
  std::vector<std::pair<NodePtr, NodePtr>> pairs;  // kObject, and group-by
  bool has_group = false;
  std::vector<std::pair<NodePtr, NodePtr>> group_pairs;
  std::int64_t group_position = 0;
  std::vector<NodePtr> stages;       // kFilter / kIndex stages of a step
  std::vector<NodePtr> predicates;   // filters on a non-step expression (e.g. `$x[0]`)
  std::vector<SortTerm> sort_terms;  // kSort
  std::string focus;                 // `@$v` binding of a step
  std::string index;                 // `#$v` binding (kIndex stage value, or step's)
  bool tuple = false;
  bool keep_array = false;
  bool cons_array = false;           // array constructor that a path must not flatten
  bool keep_singleton_array = false; // kPath with `[]`
  // Parent operator bookkeeping (jsonata-js's ancestry slots): a kParent node looks up slot->label; a
  // step with `ancestor` binds its input under ancestor->label.
  std::shared_ptr<ParentSlot> slot;
  std::shared_ptr<ParentSlot> ancestor;
  std::vector<std::shared_ptr<ParentSlot>> seeking_parent;
  bool has_seeking_parent = false;
  NodePtr procedure;                 // kCall/kPartial
  std::vector<std::string> params;   // kLambda parameter names
  std::shared_ptr<const Signature> signature;
  NodePtr body;                      // kLambda
  bool thunk = false;                // kLambda created for a tail call
  NodePtr pattern, update, remove;   // kTransform
  bool is_tail_call = false;
};

}  // namespace stepflow::sm::jsonata
