// The builtin table: name, JSONata signature and implementation, as jsonata-js 2.0.6 registers them.
// Built once (thread-safe static initialisation), read-only afterwards.

#include <unordered_map>

#include "statemachine/jsonata/functions.h"
#include "statemachine/jsonata/parser.h"

namespace stepflow::sm::jsonata {
namespace {

struct Entry {
  const char* name;
  const char* signature;
  BuiltinFn fn;
};

constexpr Entry kEntries[] = {
    {"sum", "a<n>:n", fn::Sum}, {"count", "a:n", fn::Count}, {"max", "a<n>:n", fn::Max},
    {"min", "a<n>:n", fn::Min}, {"average", "a<n>:n", fn::Average}, {"string", "x-b?:s", fn::String},
    {"substring", "s-nn?:s", fn::Substring}, {"substringBefore", "s-s:s", fn::SubstringBefore},
    {"substringAfter", "s-s:s", fn::SubstringAfter}, {"lowercase", "s-:s", fn::Lowercase},
    {"uppercase", "s-:s", fn::Uppercase}, {"length", "s-:n", fn::Length}, {"trim", "s-:s", fn::Trim},
    {"pad", "s-ns?:s", fn::Pad}, {"match", "s-f<s:o>n?:a<o>", fn::Match}, {"contains", "s-(sf):b", fn::Contains},
    {"replace", "s-(sf)(sf)n?:s", fn::Replace}, {"split", "s-(sf)n?:a<s>", fn::Split},
    {"join", "a<s>s?:s", fn::Join}, {"formatNumber", "n-so?:s", fn::FormatNumber},
    {"formatBase", "n-n?:s", fn::FormatBase}, {"formatInteger", "n-s:s", fn::FormatInteger},
    {"parseInteger", "s-s:n", fn::ParseInteger}, {"number", "(nsb)-:n", fn::Number},
    {"floor", "n-:n", fn::Floor}, {"ceil", "n-:n", fn::Ceil}, {"round", "n-n?:n", fn::Round},
    {"abs", "n-:n", fn::Abs}, {"sqrt", "n-:n", fn::Sqrt}, {"power", "n-n:n", fn::Power},
    {"random", ":n", fn::Random}, {"boolean", "x-:b", fn::Boolean}, {"not", "x-:b", fn::Not},
    {"map", "af", fn::Map}, {"zip", "a+", fn::Zip}, {"filter", "af", fn::Filter}, {"single", "af?", fn::Single},
    {"reduce", "afj?:j", fn::Reduce}, {"sift", "o-f?:o", fn::Sift}, {"keys", "x-:a<s>", fn::Keys},
    {"lookup", "x-s:x", fn::Lookup}, {"append", "xx:a", fn::Append}, {"exists", "x:b", fn::Exists},
    {"spread", "x-:a<o>", fn::Spread}, {"merge", "a<o>:o", fn::Merge}, {"reverse", "a:a", fn::Reverse},
    {"each", "o-f:a", fn::Each}, {"error", "s?:x", fn::Error}, {"assert", "bs?:x", fn::Assert},
    {"type", "x:s", fn::Type}, {"sort", "af?:a", fn::Sort}, {"shuffle", "a:a", fn::Shuffle},
    {"distinct", "x:x", fn::Distinct}, {"base64encode", "s-:s", fn::Base64Encode},
    {"base64decode", "s-:s", fn::Base64Decode}, {"encodeUrlComponent", "s-:s", fn::EncodeUrlComponent},
    {"encodeUrl", "s-:s", fn::EncodeUrl}, {"decodeUrlComponent", "s-:s", fn::DecodeUrlComponent},
    {"decodeUrl", "s-:s", fn::DecodeUrl}, {"eval", "sx?:x", fn::Eval}, {"toMillis", "s-s?:n", fn::ToMillis},
    {"fromMillis", "n-s?s?:s", fn::FromMillis}, {"clone", "(oa)-:o", fn::Clone}, {"now", "s?s?:s", fn::Now},
    {"millis", ":n", fn::Millis},
};

const std::unordered_map<std::string, Builtin>& Table() {
  static const auto* const kTable = [] {
    auto* table = new std::unordered_map<std::string, Builtin>();
    for (const Entry& e : kEntries) {
      Builtin b;
      b.name = e.name;
      b.signature_text = e.signature;
      b.fn = e.fn;
      b.signature = ParseSignature(e.signature, 0);
      // jsonata-js passes higher-order callbacks as many arguments as the JavaScript implementation
      // declares before its first default parameter: $string(arg, prettify = false) takes one.
      b.arity = std::string_view(e.name) == "string" ? 1 : static_cast<int>(b.signature->params.size());
      table->emplace(e.name, std::move(b));
    }
    return table;
  }();
  return *kTable;
}

}  // namespace

const Builtin* FindBuiltin(std::string_view name) {
  const auto& table = Table();
  auto it = table.find(std::string(name));
  return it == table.end() ? nullptr : &it->second;
}

}  // namespace stepflow::sm::jsonata
