// Which variables a compiled expression may read (VariableReads in jsonata.h): a walk of the processed tree.

#include <utility>
#include <vector>

#include "statemachine/jsonata/ast.h"
#include "statemachine/jsonata/jsonata.h"

namespace stepflow::sm::jsonata {
namespace {

// `$name.field...` with nothing on the variable step that could read the value otherwise (a predicate, a
// binding, a sort): the field read, or null.
const std::string* FieldOfVariablePath(const Node& path) {
  if (path.steps.size() < 2) {
    return nullptr;
  }
  const Node& variable = *path.steps[0];
  const Node& field = *path.steps[1];
  if (variable.type != NodeType::kVariable || !variable.stages.empty() || !variable.predicates.empty() ||
      variable.tuple || !variable.focus.empty() || !variable.index.empty() || variable.has_group ||
      field.type != NodeType::kName) {
    return nullptr;
  }
  return &field.value;
}

void Children(const Node& node, std::vector<const Node*>& out) {
  for (const NodePtr* child : {&node.lhs, &node.rhs, &node.then_branch, &node.else_branch, &node.procedure,
                               &node.body, &node.pattern, &node.update, &node.remove}) {
    if (*child) {
      out.push_back(child->get());
    }
  }
  for (const std::vector<NodePtr>* list : {&node.steps, &node.expressions, &node.stages, &node.predicates}) {
    for (const NodePtr& child : *list) {
      if (child) {
        out.push_back(child.get());
      }
    }
  }
  for (const auto* pairs : {&node.pairs, &node.group_pairs}) {
    for (const auto& [key, value] : *pairs) {
      if (key) {
        out.push_back(key.get());
      }
      if (value) {
        out.push_back(value.get());
      }
    }
  }
  for (const SortTerm& term : node.sort_terms) {
    if (term.expression) {
      out.push_back(term.expression.get());
    }
  }
}

}  // namespace

VariableReads FindVariableReads(const Node& root) {
  VariableReads reads;
  std::vector<const Node*> pending{&root};  // a worklist: trees may be as deep as the expression is long
  std::set<std::string, std::less<>> whole;
  while (!pending.empty()) {
    const Node* node = pending.back();
    pending.pop_back();
    const Node* skip = nullptr;  // the variable step of `$name.field`, counted here rather than as whole
    if (node->type == NodeType::kPath) {
      if (const std::string* field = FieldOfVariablePath(*node)) {
        const std::string& name = node->steps[0]->value;
        reads.names.insert(name);
        reads.fields[name].insert(*field);
        skip = node->steps[0].get();
      }
    } else if (node->type == NodeType::kVariable && !node->value.empty()) {
      reads.names.insert(node->value);
      whole.insert(node->value);
    }
    std::vector<const Node*> children;
    Children(*node, children);
    for (const Node* child : children) {
      if (child != skip) {  // a variable step has no children of its own (FieldOfVariablePath checked)
        pending.push_back(child);
      }
    }
  }
  for (const std::string& name : whole) {
    reads.fields.erase(name);
  }
  return reads;
}

bool VariableReads::MayRead(std::string_view name, std::string_view field) const {
  if (names.find(name) == names.end()) {
    return false;
  }
  auto only = fields.find(name);
  return only == fields.end() || only->second.count(field) > 0;
}

}  // namespace stepflow::sm::jsonata
