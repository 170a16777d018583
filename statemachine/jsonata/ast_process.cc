// The parser's second phase, as jsonata-js's processAST: paths become step lists, predicates and `#`
// bindings become stages of their step, `@` marks tuple steps, `%` is resolved to ancestor slots, and
// lambda bodies are marked for tail calls.

#include <string>

#include "absl/strings/str_cat.h"
#include "statemachine/jsonata/parser.h"

namespace stepflow::sm::jsonata {
namespace {

class Processor {
 public:
  NodePtr Process(NodePtr expr);

 private:
  NodePtr ProcessBinary(NodePtr expr);
  NodePtr ProcessPath(NodePtr expr);
  NodePtr TailCallOptimize(NodePtr expr);
  std::shared_ptr<ParentSlot> SeekParent(Node* node, std::shared_ptr<ParentSlot> slot);
  void PushAncestry(Node* result, Node* value);
  void ResolveAncestry(Node* path);

  int label_counter_ = 0;
  int index_counter_ = 0;
  std::vector<Node*> ancestry_;
  int depth_ = 0;
};

NodePtr WrapInPath(NodePtr step) {
  auto path = std::make_unique<Node>();
  path->type = NodeType::kPath;
  path->position = step->position;
  path->steps.push_back(std::move(step));
  return path;
}

std::shared_ptr<ParentSlot> Processor::SeekParent(Node* node, std::shared_ptr<ParentSlot> slot) {
  switch (node->type) {
    case NodeType::kName:
    case NodeType::kWildcard:
      slot->level--;
      if (slot->level == 0) {
        if (node->ancestor == nullptr) {
          node->ancestor = slot;
        } else {
          ancestry_[static_cast<std::size_t>(slot->index)]->slot->label = node->ancestor->label;
          node->ancestor = slot;
        }
        node->tuple = true;
      }
      break;
    case NodeType::kParent:
      slot->level++;
      break;
    case NodeType::kBlock:
      if (!node->expressions.empty()) {
        node->tuple = true;
        slot = SeekParent(node->expressions.back().get(), slot);
      }
      break;
    case NodeType::kPath: {
      node->tuple = true;
      int index = static_cast<int>(node->steps.size()) - 1;
      slot = SeekParent(node->steps[static_cast<std::size_t>(index--)].get(), slot);
      while (slot->level > 0 && index >= 0) {
        slot = SeekParent(node->steps[static_cast<std::size_t>(index--)].get(), slot);
      }
      break;
    }
    default:
      Fail("S0217", node->position, node->value);
  }
  return slot;
}

void Processor::PushAncestry(Node* result, Node* value) {
  if (value->has_seeking_parent || value->type == NodeType::kParent) {
    std::vector<std::shared_ptr<ParentSlot>> slots = value->seeking_parent;
    if (value->type == NodeType::kParent) {
      slots.push_back(value->slot);
    }
    result->has_seeking_parent = true;
    result->seeking_parent.insert(result->seeking_parent.end(), slots.begin(), slots.end());
  }
}

void Processor::ResolveAncestry(Node* path) {
  Node* last = path->steps.back().get();
  std::vector<std::shared_ptr<ParentSlot>> slots = last->seeking_parent;
  if (last->type == NodeType::kParent) {
    slots.push_back(last->slot);
  }
  for (std::shared_ptr<ParentSlot> slot : slots) {
    int index = static_cast<int>(path->steps.size()) - 2;
    while (slot->level > 0) {
      if (index < 0) {
        path->has_seeking_parent = true;
        path->seeking_parent.push_back(slot);
        break;
      }
      Node* step = path->steps[static_cast<std::size_t>(index--)].get();
      while (index >= 0 && !step->focus.empty() && !path->steps[static_cast<std::size_t>(index)]->focus.empty()) {
        step = path->steps[static_cast<std::size_t>(index--)].get();
      }
      slot = SeekParent(step, slot);
    }
  }
}

NodePtr Processor::TailCallOptimize(NodePtr expr) {
  if (expr->type == NodeType::kCall && expr->predicates.empty()) {
    auto thunk = std::make_unique<Node>();
    thunk->type = NodeType::kLambda;
    thunk->thunk = true;
    thunk->position = expr->position;
    thunk->body = std::move(expr);
    return thunk;
  }
  if (expr->type == NodeType::kCondition) {
    expr->then_branch = TailCallOptimize(std::move(expr->then_branch));
    if (expr->else_branch) {
      expr->else_branch = TailCallOptimize(std::move(expr->else_branch));
    }
  } else if (expr->type == NodeType::kBlock && !expr->expressions.empty()) {
    expr->expressions.back() = TailCallOptimize(std::move(expr->expressions.back()));
  }
  return expr;
}

NodePtr Processor::ProcessPath(NodePtr expr) {
  NodePtr lstep = Process(std::move(expr->lhs));
  NodePtr result;
  bool left_parent = lstep->type == NodeType::kParent;
  std::shared_ptr<ParentSlot> left_slot = lstep->slot;
  if (lstep->type == NodeType::kPath) {
    result = std::move(lstep);
  } else {
    result = WrapInPath(std::move(lstep));
  }
  if (left_parent) {
    result->has_seeking_parent = true;
    result->seeking_parent = {left_slot};
  }
  NodePtr rest = Process(std::move(expr->rhs));
  if (rest->type == NodeType::kPath) {
    for (NodePtr& step : rest->steps) {
      result->steps.push_back(std::move(step));
    }
  } else {
    if (!rest->predicates.empty()) {
      rest->stages = std::move(rest->predicates);
      rest->predicates.clear();
    }
    result->steps.push_back(std::move(rest));
  }
  for (NodePtr& step : result->steps) {
    if (step->type == NodeType::kNumber || step->type == NodeType::kValue) {
      Fail("S0213", step->position, step->value);
    }
    if (step->type == NodeType::kString) {
      step->type = NodeType::kName;
    }
    if (step->keep_array) {
      result->keep_singleton_array = true;
    }
  }
  Node* first = result->steps.front().get();
  if (first->type == NodeType::kArray) {
    first->cons_array = true;
  }
  Node* last = result->steps.back().get();
  if (last->type == NodeType::kArray) {
    last->cons_array = true;
  }
  ResolveAncestry(result.get());
  return result;
}

NodePtr Processor::ProcessBinary(NodePtr expr) {
  const std::string op = expr->value;
  if (op == ".") {
    return ProcessPath(std::move(expr));
  }
  if (op == "[") {
    NodePtr result = Process(std::move(expr->lhs));
    Node* step = result.get();
    bool stages = false;
    if (result->type == NodeType::kPath) {
      step = result->steps.back().get();
      stages = true;
    }
    if (step->has_group) {
      Fail("S0209", expr->position);
    }
    NodePtr predicate = Process(std::move(expr->rhs));
    if (predicate->has_seeking_parent) {
      for (const std::shared_ptr<ParentSlot>& slot : predicate->seeking_parent) {
        if (slot->level == 1) {
          SeekParent(step, slot);
        } else {
          slot->level--;
        }
      }
      PushAncestry(step, predicate.get());
    }
    auto filter = std::make_unique<Node>();
    filter->type = NodeType::kFilter;
    filter->position = expr->position;
    filter->lhs = std::move(predicate);
    (stages ? step->stages : step->predicates).push_back(std::move(filter));
    return result;
  }
  if (op == "{") {
    NodePtr result = Process(std::move(expr->lhs));
    if (result->has_group) {
      Fail("S0210", expr->position);
    }
    result->has_group = true;
    result->group_position = expr->position;
    for (auto& [key, value] : expr->pairs) {
      result->group_pairs.emplace_back(Process(std::move(key)), Process(std::move(value)));
    }
    return result;
  }
  if (op == "^") {
    NodePtr result = Process(std::move(expr->lhs));
    if (result->type != NodeType::kPath) {
      result = WrapInPath(std::move(result));
    }
    auto sort = std::make_unique<Node>();
    sort->type = NodeType::kSort;
    sort->position = expr->position;
    for (SortTerm& term : expr->sort_terms) {
      term.expression = Process(std::move(term.expression));
      PushAncestry(sort.get(), term.expression.get());
      sort->sort_terms.push_back(std::move(term));
    }
    result->steps.push_back(std::move(sort));
    ResolveAncestry(result.get());
    return result;
  }
  if (op == "@") {
    NodePtr result = Process(std::move(expr->lhs));
    Node* step = result->type == NodeType::kPath ? result->steps.back().get() : result.get();
    if (!step->stages.empty() || !step->predicates.empty()) {
      Fail("S0215", expr->position);
    }
    if (step->type == NodeType::kSort) {
      Fail("S0216", expr->position);
    }
    if (expr->keep_array) {
      step->keep_array = true;
    }
    step->focus = expr->rhs->value;
    step->tuple = true;
    return result;
  }
  if (op == "#") {
    NodePtr result = Process(std::move(expr->lhs));
    Node* step = result.get();
    if (result->type == NodeType::kPath) {
      step = result->steps.back().get();
    } else {
      if (!result->predicates.empty()) {
        result->stages = std::move(result->predicates);
        result->predicates.clear();
      }
      result = WrapInPath(std::move(result));
    }
    if (step->stages.empty()) {
      step->index = expr->rhs->value;
    } else {
      auto index = std::make_unique<Node>();
      index->type = NodeType::kIndex;
      index->value = expr->rhs->value;
      index->position = expr->position;
      step->stages.push_back(std::move(index));
    }
    step->tuple = true;
    return result;
  }
  // other binary operators ('..' included)
  expr->lhs = Process(std::move(expr->lhs));
  expr->rhs = Process(std::move(expr->rhs));
  PushAncestry(expr.get(), expr->lhs.get());
  PushAncestry(expr.get(), expr->rhs.get());
  return expr;
}

NodePtr Processor::Process(NodePtr expr) {
  if (++depth_ > kMaxExpressionNesting) {
    Fail("U1001", expr->position);
  }
  const bool keep_array = expr->keep_array;
  NodePtr result;
  switch (expr->type) {
    case NodeType::kBinary:
      result = ProcessBinary(std::move(expr));
      break;
    case NodeType::kBind:
    case NodeType::kApply:
      expr->lhs = Process(std::move(expr->lhs));
      expr->rhs = Process(std::move(expr->rhs));
      if (expr->type == NodeType::kBind) {
        PushAncestry(expr.get(), expr->rhs.get());
      } else {
        expr->keep_array = expr->lhs->keep_array || expr->rhs->keep_array;
      }
      result = std::move(expr);
      break;
    case NodeType::kArray:
      for (NodePtr& item : expr->expressions) {
        item = Process(std::move(item));
        PushAncestry(expr.get(), item.get());
      }
      result = std::move(expr);
      break;
    case NodeType::kObject:
      for (auto& [key, value] : expr->pairs) {
        key = Process(std::move(key));
        PushAncestry(expr.get(), key.get());
        value = Process(std::move(value));
        PushAncestry(expr.get(), value.get());
      }
      result = std::move(expr);
      break;
    case NodeType::kNegate:
      expr->lhs = Process(std::move(expr->lhs));
      if (expr->lhs->type == NodeType::kNumber) {
        NodePtr number = std::move(expr->lhs);
        number->literal = Value::Number(-number->literal.number());
        result = std::move(number);
      } else {
        PushAncestry(expr.get(), expr->lhs.get());
        result = std::move(expr);
      }
      break;
    case NodeType::kCall:
    case NodeType::kPartial:
      for (NodePtr& arg : expr->expressions) {
        arg = Process(std::move(arg));
        PushAncestry(expr.get(), arg.get());
      }
      expr->procedure = Process(std::move(expr->procedure));
      result = std::move(expr);
      break;
    case NodeType::kLambda:
      expr->body = TailCallOptimize(Process(std::move(expr->body)));
      result = std::move(expr);
      break;
    case NodeType::kCondition:
      expr->lhs = Process(std::move(expr->lhs));
      PushAncestry(expr.get(), expr->lhs.get());
      expr->then_branch = Process(std::move(expr->then_branch));
      PushAncestry(expr.get(), expr->then_branch.get());
      if (expr->else_branch) {
        expr->else_branch = Process(std::move(expr->else_branch));
        PushAncestry(expr.get(), expr->else_branch.get());
      }
      result = std::move(expr);
      break;
    case NodeType::kTransform:
      expr->pattern = Process(std::move(expr->pattern));
      expr->update = Process(std::move(expr->update));
      if (expr->remove) {
        expr->remove = Process(std::move(expr->remove));
      }
      result = std::move(expr);
      break;
    case NodeType::kBlock:
      for (NodePtr& item : expr->expressions) {
        item = Process(std::move(item));
        PushAncestry(expr.get(), item.get());
        if (item->cons_array || (item->type == NodeType::kPath && item->steps.front()->cons_array)) {
          expr->cons_array = true;
        }
      }
      result = std::move(expr);
      break;
    case NodeType::kName: {
      bool keep = expr->keep_array;
      result = WrapInPath(std::move(expr));
      result->keep_singleton_array = keep;
      break;
    }
    case NodeType::kParent:
      expr->slot = std::make_shared<ParentSlot>();
      expr->slot->label = absl::StrCat("!", label_counter_++);
      expr->slot->index = index_counter_++;
      ancestry_.push_back(expr.get());
      result = std::move(expr);
      break;
    default:
      result = std::move(expr);
      break;
  }
  if (keep_array) {
    result->keep_array = true;
  }
  --depth_;
  return result;
}

}  // namespace

NodePtr ProcessAst(NodePtr raw) {
  Processor processor;
  NodePtr root = processor.Process(std::move(raw));
  if (root->has_seeking_parent || root->type == NodeType::kParent) {
    Fail("S0217", root->position, "parent");
  }
  return root;
}

}  // namespace stepflow::sm::jsonata
