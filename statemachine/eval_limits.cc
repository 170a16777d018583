#include "statemachine/eval_limits.h"

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"

namespace stepflow::sm {
namespace json = boost::json;
namespace {

// Adds the size of `v` to `total`; stops descending once `total` exceeds `cap`.
void AddBytes(const json::value& v, std::size_t cap, std::size_t& total) {
  constexpr std::size_t kNumberBytes = 8;
  switch (v.kind()) {
    case json::kind::null:
    case json::kind::bool_:
      total += 5;
      return;
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      total += kNumberBytes;
      return;
    case json::kind::string:
      total += v.get_string().size() + 2;
      return;
    case json::kind::array:
      total += 2;
      for (const json::value& e : v.get_array()) {
        if (total > cap) {
          return;
        }
        total += 1;
        AddBytes(e, cap, total);
      }
      return;
    case json::kind::object:
      total += 2;
      for (const auto& kv : v.get_object()) {
        if (total > cap) {
          return;
        }
        total += kv.key().size() + 4;
        AddBytes(kv.value(), cap, total);
      }
      return;
  }
}

}  // namespace

std::size_t ApproxJsonBytes(const json::value& v, std::size_t cap) {
  std::size_t total = 0;
  AddBytes(v, cap, total);
  return total;
}

Failure TooManyVisits(const std::string& what, std::size_t limit) {
  return Failure{errors::kRuntime,
                 absl::StrCat(what, " visited more than ", limit, " JSON nodes (the evaluation limit)")};
}

Failure ResultTooLarge(const std::string& what, std::size_t limit) {
  return Failure{errors::kDataLimitExceeded,
                 absl::StrCat(what, " produced more than ", limit, " bytes of results (the evaluation limit)")};
}

}  // namespace stepflow::sm
