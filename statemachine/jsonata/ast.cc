#include "statemachine/jsonata/ast.h"

#include <utility>
#include <vector>

namespace stepflow::sm::jsonata {
namespace {

// Moves every child of `node` onto `pending`, leaving `node` a leaf.
void DetachChildren(Node& node, std::vector<NodePtr>& pending) {
  for (NodePtr* child : {&node.lhs, &node.rhs, &node.then_branch, &node.else_branch, &node.procedure,
                         &node.body, &node.pattern, &node.update, &node.remove}) {
    if (*child) {
      pending.push_back(std::move(*child));
    }
  }
  for (std::vector<NodePtr>* list : {&node.steps, &node.expressions, &node.stages, &node.predicates}) {
    for (NodePtr& child : *list) {
      if (child) {
        pending.push_back(std::move(child));
      }
    }
    list->clear();
  }
  for (auto* pairs : {&node.pairs, &node.group_pairs}) {
    for (auto& [key, value] : *pairs) {
      if (key) {
        pending.push_back(std::move(key));
      }
      if (value) {
        pending.push_back(std::move(value));
      }
    }
    pairs->clear();
  }
  for (SortTerm& term : node.sort_terms) {
    if (term.expression) {
      pending.push_back(std::move(term.expression));
    }
  }
  node.sort_terms.clear();
}

}  // namespace

Node::~Node() {
  std::vector<NodePtr> pending;
  DetachChildren(*this, pending);
  while (!pending.empty()) {
    NodePtr node = std::move(pending.back());
    pending.pop_back();
    DetachChildren(*node, pending);
    // `node` is a leaf now; its destructor finds nothing to detach.
  }
}

}  // namespace stepflow::sm::jsonata
