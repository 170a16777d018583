// Function signatures (`<n-n:n>`): parsing, and checking arguments against them as jsonata-js does — the
// arguments' type symbols form a string matched by a regular expression built from the signature.

#include "statemachine/jsonata/signature.h"

#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "statemachine/jsonata/parser.h"

namespace stepflow::sm::jsonata {
namespace {

std::string TypeRegex(char symbol) {
  switch (symbol) {
    case 's': case 'n': case 'b': case 'l': case 'o':
      return absl::StrCat("[", std::string(1, symbol), "m]");
    case 'a': case 'x':
      return "[asnblfom]";
    case 'f':
      return "f";
    case 'j':
      return "[asnblom]";
    default:
      return "";
  }
}

struct ParamBuild {
  SignatureParam param;
  std::string regex;
};

}  // namespace

char TypeSymbol(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return 'm';
    case Kind::kNull: return 'l';
    case Kind::kBool: return 'b';
    case Kind::kNumber: return 'n';
    case Kind::kString: return 's';
    case Kind::kArray: return 'a';
    case Kind::kObject: return 'o';
    case Kind::kFunction: return 'f';
  }
  return 'm';
}

std::shared_ptr<const Signature> ParseSignature(std::string_view text, std::int64_t position) {
  auto signature = std::make_shared<Signature>();
  signature->text = std::string(text);
  std::vector<ParamBuild> params;
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ':') {
      break;
    }
    if (std::string_view("snbloafjx").find(c) != std::string_view::npos) {
      ParamBuild p;
      p.param.types = std::string(1, c);
      p.regex = TypeRegex(c);
      params.push_back(std::move(p));
    } else if (c == '(') {
      std::size_t end = text.find(')', i);
      if (end == std::string_view::npos) {
        Fail("S0402", position);
      }
      std::string choice(text.substr(i + 1, end - i - 1));
      if (choice.find('<') != std::string::npos) {
        Fail("S0402", position);
      }
      ParamBuild p;
      p.param.types = choice;
      p.regex = absl::StrCat("[", choice, "m]");
      params.push_back(std::move(p));
      i = end;
    } else if (c == '<') {
      if (params.empty() || (params.back().param.types != "a" && params.back().param.types != "f")) {
        Fail("S0401", position);
      }
      int depth = 1;
      std::size_t start = i + 1;
      std::size_t j = start;
      while (j < text.size() && depth > 0) {
        if (text[j] == '<') { ++depth; }
        if (text[j] == '>') { --depth; }
        ++j;
      }
      params.back().param.subtype = std::string(text.substr(start, j - start - 1));
      i = j - 1;
    } else if (!params.empty() && (c == '?' || c == '+' || c == '-')) {
      ParamBuild& p = params.back();
      if (c == '-') {
        p.param.context = true;
        p.regex += "?";
      } else {
        if (c == '?') { p.param.optional = true; }
        if (c == '+') { p.param.variadic = true; }
        p.regex += c;
      }
    }
    ++i;
  }
  std::string regex = "^";
  for (ParamBuild& p : params) {
    absl::StrAppend(&regex, "(", p.regex, ")");
    signature->params.push_back(std::move(p.param));
    signature->param_regexes.push_back(p.regex);
  }
  regex += "$";
  signature->regex_text = regex;
  RegexOptions options;
  options.full_match = false;
  absl::StatusOr<BoundedRegex> compiled = BoundedRegex::Compile(regex, options);
  if (!compiled.ok()) {
    Fail("S0402", position);
  }
  signature->regex = std::make_shared<const BoundedRegex>(*std::move(compiled));
  return signature;
}

namespace {

// The signature's regex matched against a string of argument type symbols, remembered per thread (a builtin
// called once per item of a sequence sees the same few type strings over and over). Keyed by the
// signature's text, which determines its regex; only matches are kept. Bounded: cleared when full.
const BoundedRegex::Match* CachedMatch(const Signature& signature, const std::string& supplied) {
  constexpr std::size_t kMaxCachedSignatures = 512;
  constexpr std::size_t kMaxCachedMatches = 64;  // per signature
  thread_local std::unordered_map<std::string, std::unordered_map<std::string, BoundedRegex::Match>> cache;
  auto by_signature = cache.find(signature.text);
  if (by_signature != cache.end()) {
    if (auto it = by_signature->second.find(supplied); it != by_signature->second.end()) {
      return &it->second;
    }
  }
  absl::StatusOr<std::optional<BoundedRegex::Match>> match = signature.regex->Search(supplied, 0);
  if (!match.ok() || !match->has_value()) {
    return nullptr;
  }
  if (by_signature == cache.end()) {
    if (cache.size() >= kMaxCachedSignatures) {
      cache.clear();
    }
    by_signature = cache.emplace(signature.text, std::unordered_map<std::string, BoundedRegex::Match>()).first;
  }
  if (by_signature->second.size() >= kMaxCachedMatches) {
    by_signature->second.clear();
  }
  return &by_signature->second.emplace(supplied, std::move(**match)).first->second;
}

}  // namespace

std::vector<Value> ValidateArguments(const Signature& signature, const std::vector<Value>& args,
                                     const Value& context, std::int64_t position) {
  std::string supplied;
  for (const Value& a : args) {
    supplied += TypeSymbol(a);
  }
  const BoundedRegex::Match* match = CachedMatch(signature, supplied);
  if (match == nullptr) {
    // find the first argument that does not fit
    std::size_t good_to = 0;
    std::string partial = "^";
    for (const std::string& r : signature.param_regexes) {
      partial += r;
      RegexOptions options;
      options.full_match = false;
      absl::StatusOr<BoundedRegex> re = BoundedRegex::Compile(partial, options);
      if (!re.ok()) {
        break;
      }
      absl::StatusOr<std::optional<BoundedRegex::Match>> m = re->Search(supplied, 0);
      if (!m.ok() || !m->has_value()) {
        break;
      }
      good_to = (**m).groups[0].second;
    }
    Fail("T0410", position, absl::StrCat(good_to + 1));
  }
  const BoundedRegex::Match& groups = *match;
  std::vector<Value> validated;
  std::size_t arg_index = 0;
  for (std::size_t p = 0; p < signature.params.size(); ++p) {
    const SignatureParam& param = signature.params[p];
    const auto [start, end] = groups.groups[p + 1];
    std::string_view matched = start == std::string_view::npos ? std::string_view()
                                                               : std::string_view(supplied).substr(start, end - start);
    if (matched.empty()) {
      if (param.context) {
        char ctx = TypeSymbol(context);
        std::string single = TypeRegex(param.types.size() == 1 ? param.types[0] : 'x');
        if (param.types.size() > 1) {
          single = absl::StrCat("[", param.types, "m]");
        }
        if (single.find(ctx) != std::string::npos || single == "[asnblfom]") {
          validated.push_back(context);
        } else {
          Fail("T0411", position, absl::StrCat(arg_index + 1));
        }
      } else {
        validated.push_back(arg_index < args.size() ? args[arg_index] : Value());
        ++arg_index;
      }
      continue;
    }
    for (char single : matched) {
      Value arg = arg_index < args.size() ? args[arg_index] : Value();
      if (param.types == "a") {
        if (single == 'm') {
          arg = Value();
        } else {
          bool ok = true;
          if (!param.subtype.empty()) {
            if (single != 'a' && std::string(1, single) != param.subtype) {
              ok = false;
            } else if (single == 'a' && !arg.array().items.empty()) {
              char first = TypeSymbol(arg.array().items[0]);
              if (first != param.subtype[0]) {
                ok = false;
              } else {
                for (const Value& item : arg.array().items) {
                  if (TypeSymbol(item) != first) {
                    ok = false;
                    break;
                  }
                }
              }
            }
          }
          if (!ok) {
            Fail("T0412", position, absl::StrCat(arg_index + 1));
          }
          if (single != 'a') {
            arg = MakeArray({arg});
          }
        }
      }
      validated.push_back(arg);
      ++arg_index;
    }
  }
  return validated;
}

}  // namespace stepflow::sm::jsonata
