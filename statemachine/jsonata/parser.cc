#include "statemachine/jsonata/parser.h"

#include <map>

namespace stepflow::sm::jsonata {
namespace {

// Binding powers of jsonata-js's operators.
int BindingPower(const Token& t) {
  if (t.type != TokenType::kOperator) {
    return 0;
  }
  static const std::map<std::string, int> kPowers = {
      {".", 75}, {"[", 80}, {"]", 0}, {"{", 70}, {"}", 0}, {"(", 80}, {")", 0}, {",", 0}, {"@", 80},
      {"#", 80}, {";", 0}, {":", 0}, {"?", 20}, {"+", 50}, {"-", 50}, {"*", 60}, {"/", 60}, {"%", 60},
      {"|", 0}, {"=", 40}, {"<", 40}, {">", 40}, {"^", 40}, {"**", 60}, {"..", 0}, {":=", 10},
      {"!=", 40}, {"<=", 40}, {">=", 40}, {"~>", 40}, {"and", 30}, {"or", 25}, {"in", 40}, {"&", 50}};
  auto it = kPowers.find(t.value);
  return it == kPowers.end() ? 0 : it->second;
}

NodePtr MakeNode(NodeType type, const Token& t) {
  auto n = std::make_unique<Node>();
  n->type = type;
  n->position = t.position;
  n->value = t.value;
  return n;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text) { Advance(); }

  NodePtr ParseAll() {
    NodePtr root = Expression(0);
    if (current_.type != TokenType::kEnd) {
      Fail("S0201", current_.position, current_.value);
    }
    return root;
  }

 private:
  bool Is(std::string_view op) const { return current_.type == TokenType::kOperator && current_.value == op; }

  void Advance() {
    bool prefix = !have_previous_ || (previous_operator_ && previous_value_ != ")" && previous_value_ != "]" &&
                                      previous_value_ != "}");
    current_ = lexer_.Next(prefix);
    have_previous_ = true;
    previous_operator_ = current_.type == TokenType::kOperator;
    previous_value_ = current_.value;
  }

  void Expect(std::string_view op) {
    if (!Is(op)) {
      if (current_.type == TokenType::kEnd) {
        Fail("S0203", current_.position, std::string(op));
      }
      Fail("S0202", current_.position, std::string(op) + "|" + current_.value);
    }
    Advance();
  }

  NodePtr Expression(int rbp) {
    if (++depth_ > kMaxExpressionNesting) {
      Fail("U1001", current_.position);
    }
    Token t = current_;
    Advance();
    NodePtr left = Nud(t);
    while (rbp < BindingPower(current_)) {
      t = current_;
      Advance();
      left = Led(t, std::move(left));
    }
    --depth_;
    return left;
  }

  NodePtr Literal(const Token& t) {
    NodePtr n;
    switch (t.type) {
      case TokenType::kString:
        n = MakeNode(NodeType::kString, t);
        n->literal = Value::String(t.value);
        return n;
      case TokenType::kNumber:
        n = MakeNode(NodeType::kNumber, t);
        n->literal = Value::Number(t.number);
        return n;
      case TokenType::kValue:
        n = MakeNode(NodeType::kValue, t);
        n->literal = t.value == "null" ? Value::Null() : Value::Bool(t.value == "true");
        return n;
      case TokenType::kName:
        return MakeNode(NodeType::kName, t);
      case TokenType::kVariable:
        return MakeNode(NodeType::kVariable, t);
      case TokenType::kRegex: {
        n = MakeNode(NodeType::kRegex, t);
        auto literal = std::make_shared<RegexLiteral>();
        literal->pattern = t.value;
        literal->flags = t.regex_flags;
        n->regex = CompileRegexLiteral(std::move(literal), t.position);
        return n;
      }
      default:
        return nullptr;
    }
  }

  std::shared_ptr<const RegexLiteral> CompileRegexLiteral(std::shared_ptr<RegexLiteral> literal, std::int64_t pos);

  NodePtr Nud(const Token& t) {
    if (t.type == TokenType::kEnd) {
      Fail("S0207", t.position);
    }
    if (t.type != TokenType::kOperator) {
      return Literal(t);
    }
    const std::string& op = t.value;
    if (op == "and" || op == "or" || op == "in") {
      return MakeNode(NodeType::kName, t);
    }
    if (op == "-") {
      NodePtr n = MakeNode(NodeType::kNegate, t);
      n->lhs = Expression(70);
      return n;
    }
    if (op == "*") {
      return MakeNode(NodeType::kWildcard, t);
    }
    if (op == "**") {
      return MakeNode(NodeType::kDescendant, t);
    }
    if (op == "%") {
      return MakeNode(NodeType::kParent, t);
    }
    if (op == "(") {
      NodePtr n = MakeNode(NodeType::kBlock, t);
      while (!Is(")")) {
        n->expressions.push_back(Expression(0));
        if (!Is(";")) {
          break;
        }
        Advance();
      }
      Expect(")");
      return n;
    }
    if (op == "[") {
      NodePtr n = MakeNode(NodeType::kArray, t);
      if (!Is("]")) {
        while (true) {
          NodePtr item = Expression(0);
          if (Is("..")) {
            Token range = current_;
            Advance();
            NodePtr r = MakeNode(NodeType::kBinary, range);
            r->lhs = std::move(item);
            r->rhs = Expression(0);
            item = std::move(r);
          }
          n->expressions.push_back(std::move(item));
          if (!Is(",")) {
            break;
          }
          Advance();
        }
      }
      Expect("]");
      return n;
    }
    if (op == "{") {
      NodePtr n = MakeNode(NodeType::kObject, t);
      ParsePairs(n->pairs);
      return n;
    }
    if (op == "|") {
      NodePtr n = MakeNode(NodeType::kTransform, t);
      n->pattern = Expression(0);
      Expect("|");
      n->update = Expression(0);
      if (Is(",")) {
        Advance();
        n->remove = Expression(0);
      }
      Expect("|");
      return n;
    }
    Fail("S0211", t.position, op);
  }

  void ParsePairs(std::vector<std::pair<NodePtr, NodePtr>>& pairs) {
    if (!Is("}")) {
      while (true) {
        NodePtr key = Expression(0);
        Expect(":");
        NodePtr value = Expression(0);
        pairs.emplace_back(std::move(key), std::move(value));
        if (!Is(",")) {
          break;
        }
        Advance();
      }
    }
    Expect("}");
  }

  NodePtr Binary(const Token& t, NodePtr left, int rbp) {
    NodePtr n = MakeNode(NodeType::kBinary, t);
    n->lhs = std::move(left);
    n->rhs = Expression(rbp);
    return n;
  }

  NodePtr Call(const Token& t, NodePtr left) {
    NodePtr n = MakeNode(NodeType::kCall, t);
    n->procedure = std::move(left);
    if (!Is(")")) {
      while (true) {
        if (current_.type == TokenType::kOperator && current_.value == "?") {
          n->type = NodeType::kPartial;
          n->expressions.push_back(MakeNode(NodeType::kPlaceholder, current_));
          Advance();
        } else {
          n->expressions.push_back(Expression(0));
        }
        if (!Is(",")) {
          break;
        }
        Advance();
      }
    }
    Expect(")");
    const Node& proc = *n->procedure;
    if (proc.type == NodeType::kName && (proc.value == "function" || proc.value == "\xCE\xBB")) {
      return Lambda(t, std::move(n));
    }
    return n;
  }

  NodePtr Lambda(const Token& t, NodePtr call) {
    NodePtr n = MakeNode(NodeType::kLambda, t);
    for (const NodePtr& arg : call->expressions) {
      if (arg->type != NodeType::kVariable) {
        Fail("S0208", arg->position, arg->value);
      }
      n->params.push_back(arg->value);
    }
    if (Is("<")) {
      std::int64_t pos = current_.position;
      std::string text = lexer_.ReadSignature();
      n->signature = ParseSignature(text, pos);
      Advance();
    }
    Expect("{");
    n->body = Expression(0);
    Expect("}");
    return n;
  }

  NodePtr Led(const Token& t, NodePtr left) {
    const std::string& op = t.value;
    if (op == "(") {
      return Call(t, std::move(left));
    }
    if (op == "[") {
      if (Is("]")) {
        Node* step = left.get();
        while (step->type == NodeType::kBinary && step->value == "[") {
          step = step->lhs.get();
        }
        step->keep_array = true;
        Advance();
        return left;
      }
      NodePtr n = MakeNode(NodeType::kBinary, t);
      n->lhs = std::move(left);
      n->rhs = Expression(0);
      Expect("]");
      return n;
    }
    if (op == "{") {
      NodePtr n = MakeNode(NodeType::kBinary, t);
      n->lhs = std::move(left);
      ParsePairs(n->pairs);
      return n;
    }
    if (op == "^") {
      NodePtr n = MakeNode(NodeType::kBinary, t);
      n->lhs = std::move(left);
      Expect("(");
      while (true) {
        SortTerm term;
        if (Is("<")) {
          Advance();
        } else if (Is(">")) {
          term.descending = true;
          Advance();
        }
        term.expression = Expression(0);
        n->sort_terms.push_back(std::move(term));
        if (!Is(",")) {
          break;
        }
        Advance();
      }
      Expect(")");
      return n;
    }
    if (op == "?") {
      NodePtr n = MakeNode(NodeType::kCondition, t);
      n->lhs = std::move(left);
      n->then_branch = Expression(0);
      if (Is(":")) {
        Advance();
        n->else_branch = Expression(0);
      }
      return n;
    }
    if (op == ":=") {
      if (left->type != NodeType::kVariable) {
        Fail("S0212", left->position, left->value);
      }
      NodePtr n = Binary(t, std::move(left), BindingPower(t) - 1);
      n->type = NodeType::kBind;
      return n;
    }
    if (op == "@" || op == "#") {
      NodePtr n = Binary(t, std::move(left), BindingPower(t));
      if (n->rhs->type != NodeType::kVariable) {
        Fail("S0214", n->rhs->position, op);
      }
      return n;
    }
    if (op == "~>") {
      NodePtr n = Binary(t, std::move(left), BindingPower(t));
      n->type = NodeType::kApply;
      return n;
    }
    static const char* const kInfix[] = {".", "+", "-", "*", "/", "%", "=", "<", ">", "!=", "<=", ">=", "&",
                                         "and", "or", "in", "..", "**"};
    for (const char* known : kInfix) {
      if (op == known) {
        return Binary(t, std::move(left), BindingPower(t));
      }
    }
    Fail("S0201", t.position, op);
  }

  Lexer lexer_;
  Token current_;
  bool have_previous_ = false;
  bool previous_operator_ = false;
  std::string previous_value_;
  int depth_ = 0;
};

std::shared_ptr<const RegexLiteral> Parser::CompileRegexLiteral(std::shared_ptr<RegexLiteral> literal,
                                                                std::int64_t pos) {
  RegexOptions options;
  options.full_match = false;
  options.ignore_case = literal->flags.find('i') != std::string::npos;
  options.multiline = literal->flags.find('m') != std::string::npos;
  options.javascript = true;
  absl::StatusOr<BoundedRegex> compiled = BoundedRegex::Compile(literal->pattern, options);
  if (!compiled.ok()) {
    Fail("S0303", pos, literal->pattern);
  }
  literal->regex = std::make_shared<const BoundedRegex>(*std::move(compiled));
  return literal;
}

}  // namespace

NodePtr ParseExpression(std::string_view text) {
  Parser parser(text);
  return ProcessAst(parser.ParseAll());
}

}  // namespace stepflow::sm::jsonata
