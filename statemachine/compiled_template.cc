#include "statemachine/compiled_template.h"

#include <deque>
#include <utility>

namespace stepflow::sm {
namespace json = boost::json;

namespace {

bool EndsWithDollar(std::string_view key) { return key.size() >= 2 && key.substr(key.size() - 2) == ".$"; }

}  // namespace

// Parsed once per definition; executions evaluate `program`.
CompiledJsonata CompileJsonata(std::string_view text) {
  CompiledJsonata out;
  out.expression = std::string(text.substr(2, text.size() - 4));
  jsonata::CompileResult compiled = jsonata::Compile(out.expression);
  out.program = std::move(compiled.expression);
  out.error = std::move(compiled.error);
  return out;
}

CompiledExpression CompiledExpression::FromText(std::string_view text) {
  CompiledExpression out;
  out.text_ = std::string(text);
  if (LooksLikeIntrinsic(text)) {
    absl::StatusOr<IntrinsicCall> call = IntrinsicCall::Parse(text);
    if (!call.ok()) {
      out.kind_ = Kind::kInvalidIntrinsic;
      out.error_ = std::string(call.status().message());
      return out;
    }
    out.kind_ = Kind::kIntrinsic;
    out.intrinsic_ = std::make_shared<const IntrinsicCall>(*std::move(call));
    return out;
  }
  absl::StatusOr<JsonPath> path = JsonPath::Parse(text);
  if (!path.ok()) {
    out.kind_ = Kind::kInvalidPath;
    return out;
  }
  out.kind_ = Kind::kPath;
  out.path_ = std::make_shared<const JsonPath>(*std::move(path));
  return out;
}

CompiledExpression CompiledExpression::FromValue(const json::value& v) {
  if (v.is_string()) {
    return FromText(v.get_string());
  }
  CompiledExpression out;
  out.kind_ = Kind::kNotAString;
  return out;
}

bool IsJsonataTemplate(std::string_view text) {
  return text.size() >= 4 && text.substr(0, 2) == "{%" && text.substr(text.size() - 2) == "%}";
}

struct CompiledTemplate::Storage {
  json::value source;
  std::deque<TemplateNode> nodes;  // stable addresses: nodes point at their children

  // Whether `v` holds an expression anywhere (else it is copied whole, as one literal).
  static bool HoldsExpression(const json::value& v, QueryLanguage language) {
    if (v.is_string()) {
      return language == QueryLanguage::kJsonata && IsJsonataTemplate(v.get_string());
    }
    if (v.is_array()) {
      for (const json::value& e : v.get_array()) {
        if (HoldsExpression(e, language)) {
          return true;
        }
      }
      return false;
    }
    if (!v.is_object()) {
      return false;
    }
    for (const auto& [key, member] : v.get_object()) {
      if ((language == QueryLanguage::kJsonPath && EndsWithDollar(key)) || HoldsExpression(member, language)) {
        return true;
      }
    }
    return false;
  }

  // Recursion is bounded by the definition's JSON depth (kMaxDefinitionJsonDepth, validator.h).
  TemplateNode* Build(const json::value& v, QueryLanguage language) {
    TemplateNode& node = nodes.emplace_back();
    if (!HoldsExpression(v, language)) {
      node.kind = TemplateNode::Kind::kLiteral;
      node.literal = v;
      return &node;
    }
    if (v.is_string()) {
      node.kind = TemplateNode::Kind::kJsonata;
      node.jsonata = CompileJsonata(v.get_string());
      return &node;
    }
    if (v.is_array()) {
      node.kind = TemplateNode::Kind::kArray;
      for (const json::value& e : v.get_array()) {
        node.items.push_back(Build(e, language));
      }
      return &node;
    }
    node.kind = TemplateNode::Kind::kObject;
    for (const auto& [key, member] : v.get_object()) {
      TemplateNode::Member m;
      m.source_key = std::string(key);
      if (language == QueryLanguage::kJsonPath && EndsWithDollar(key)) {
        m.key = std::string(key.substr(0, key.size() - 2));
        TemplateNode& expression = nodes.emplace_back();
        expression.kind = TemplateNode::Kind::kExpression;
        expression.expression = CompiledExpression::FromValue(member);
        m.node = &expression;
      } else {
        m.key = m.source_key;
        m.node = Build(member, language);
      }
      node.members.push_back(std::move(m));
    }
    return &node;
  }
};

CompiledTemplate CompiledTemplate::Compile(const json::value& tmpl, QueryLanguage language) {
  auto storage = std::make_shared<Storage>();
  storage->source = tmpl;
  CompiledTemplate out;
  out.root_ = storage->Build(storage->source, language);
  out.storage_ = std::move(storage);
  return out;
}

const json::value& CompiledTemplate::source() const {
  static const json::value kNull;
  return storage_ ? storage_->source : kNull;
}

}  // namespace stepflow::sm
