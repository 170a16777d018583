#include "statemachine/core/jsonata_aws_functions.h"

#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "statemachine/internal/hash.h"
#include "statemachine/jsonata/ast.h"
#include "statemachine/jsonata/evaluator.h"
#include "statemachine/jsonata/lexer.h"
#include "statemachine/jsonata/parser.h"
#include "statemachine/json_parse.h"

namespace stepflow::sm {
namespace {

using jsonata::Value;
using Args = std::vector<Value>;

thread_local RuntimeValues* current_runtime = nullptr;

// Every failure of these functions: D3137 carries the message as it is.
[[noreturn]] void Refuse(const std::string& message) { jsonata::Fail("D3137", -1, message); }

bool IsInteger(double d) { return std::isfinite(d) && std::trunc(d) == d; }

Value Partition(jsonata::Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  double size = a[1].number();
  if (!IsInteger(size) || size < 1) {
    Refuse("The chunk size argument of $partition must be a positive integer");
  }
  const std::vector<Value>& items = a[0].array().items;
  std::vector<Value> chunks;
  const auto chunk = static_cast<std::size_t>(std::min(size, 1e15));
  for (std::size_t i = 0; i < items.size(); i += chunk) {
    std::size_t end = std::min(items.size(), i + chunk);
    chunks.push_back(jsonata::MakeArray(std::vector<Value>(items.begin() + static_cast<std::ptrdiff_t>(i),
                                                           items.begin() + static_cast<std::ptrdiff_t>(end))));
  }
  return jsonata::MakeArray(std::move(chunks));
}

Value Range(jsonata::Evaluator&, Args& a, const Value&) {
  double start = a[0].number();
  double end = a[1].number();
  double step = a.size() > 2 && !a[2].undefined() ? a[2].number() : 1;
  if (!IsInteger(start) || !IsInteger(end) || !IsInteger(step) || step == 0) {
    Refuse("The arguments of $range must be integers and the step must not be 0");
  }
  double count = std::floor((end - start) / step) + 1;
  if (count > kMaxAwsJsonataArray) {
    Refuse(absl::StrCat("$range would return more than ", kMaxAwsJsonataArray, " items"));
  }
  std::vector<Value> items;
  for (double i = 0; i < count; ++i) {
    items.push_back(Value::Number(start + i * step));
  }
  return jsonata::MakeArray(std::move(items));
}

Value Hash(jsonata::Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  std::string algorithm = a.size() > 1 && !a[1].undefined() ? a[1].str() : "SHA-256";
  const std::string& data = a[0].str();
  if (algorithm == "MD5") return Value::String(internal::Md5Hex(data));
  if (algorithm == "SHA-1") return Value::String(internal::Sha1Hex(data));
  if (algorithm == "SHA-256") return Value::String(internal::Sha256Hex(data));
  if (algorithm == "SHA-384") return Value::String(internal::Sha384Hex(data));
  if (algorithm == "SHA-512") return Value::String(internal::Sha512Hex(data));
  Refuse(absl::StrCat("The hashing algorithm '", algorithm,
                      "' is not supported; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"));
}

// java.util.Random's linear congruential generator (48-bit state), as its documentation specifies it.
double JavaRandomFirstDouble(std::int64_t seed) {
  constexpr std::uint64_t kMultiplier = 0x5DEECE66DULL;
  constexpr std::uint64_t kMask = (1ULL << 48) - 1;
  std::uint64_t state = (static_cast<std::uint64_t>(seed) ^ kMultiplier) & kMask;
  auto next = [&state](int bits) {
    state = (state * kMultiplier + 0xBULL) & kMask;
    return static_cast<std::int64_t>(static_cast<std::int32_t>(static_cast<std::uint32_t>(state >> (48 - bits))));
  };
  std::int64_t high = next(26);
  std::int64_t low = next(27);
  return static_cast<double>((high << 27) + low) * 0x1.0p-53;
}

Value Random(jsonata::Evaluator&, Args& a, const Value&) {
  if (!a.empty() && !a[0].undefined()) {
    double seed = a[0].number();
    if (!IsInteger(seed)) {
      Refuse("The seed argument of $random must be an integer");
    }
    // A seeded $random is a pure function of its seed: the first nextDouble() of java.util.Random(seed).
    return Value::Number(JavaRandomFirstDouble(static_cast<std::int64_t>(seed)));
  }
  if (current_runtime == nullptr) {
    Refuse("$random() has no random source here");
  }
  return Value::Number(current_runtime->NextRandomUnit());
}

Value Uuid(jsonata::Evaluator&, Args&, const Value&) {
  if (current_runtime == nullptr) {
    Refuse("$uuid() has no random source here");
  }
  return Value::String(current_runtime->NewUuid());
}

Value Parse(jsonata::Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  absl::StatusOr<boost::json::value> parsed = ParseJson(a[0].str(), "");
  if (!parsed.ok()) {
    Refuse(absl::StrCat("$parse: the argument is not JSON: ", parsed.status().message()));
  }
  return jsonata::FromJson(*parsed);
}

const std::unordered_map<std::string, jsonata::Builtin>& Table() {
  static const auto* const kTable = [] {
    struct Entry {
      const char* name;
      const char* signature;
      jsonata::BuiltinFn fn;
    };
    static constexpr Entry kEntries[] = {
        {"partition", "a-n:a", Partition}, {"range", "nnn?:a", Range}, {"hash", "s-s?:s", Hash},
        {"random", "n?:n", Random},        {"uuid", ":s", Uuid},       {"parse", "s-:j", Parse},
    };
    auto* table = new std::unordered_map<std::string, jsonata::Builtin>();
    for (const Entry& e : kEntries) {
      jsonata::Builtin b;
      b.name = e.name;
      b.signature_text = e.signature;
      b.fn = e.fn;
      b.signature = jsonata::ParseSignature(e.signature, 0);
      b.arity = static_cast<int>(b.signature->params.size());
      table->emplace(e.name, std::move(b));
    }
    return table;
  }();
  return *kTable;
}

}  // namespace

const jsonata::Builtin* FindAwsJsonataFunction(std::string_view name) {
  const auto& table = Table();
  auto it = table.find(std::string(name));
  return it == table.end() ? nullptr : &it->second;
}

AwsJsonataRuntimeScope::AwsJsonataRuntimeScope(RuntimeValues* runtime) : previous_(current_runtime) {
  current_runtime = runtime;
}

AwsJsonataRuntimeScope::~AwsJsonataRuntimeScope() { current_runtime = previous_; }

}  // namespace stepflow::sm
