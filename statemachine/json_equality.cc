#include "statemachine/json_equality.h"

#include <string.h>  // memmem (GNU)

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>

namespace stepflow::sm {
namespace json = boost::json;
namespace {

// An integral number as (negative, magnitude); nullopt for non-integral doubles and values outside
// [-2^64, 2^64).
struct ExactInteger {
  bool negative;
  std::uint64_t magnitude;
  bool operator==(const ExactInteger& o) const {
    return magnitude == o.magnitude && (negative == o.negative || magnitude == 0);
  }
};

std::optional<ExactInteger> AsExactInteger(const json::value& v) {
  if (v.is_int64()) {
    const std::int64_t i = v.get_int64();
    return ExactInteger{i < 0, i < 0 ? 0 - static_cast<std::uint64_t>(i) : static_cast<std::uint64_t>(i)};
  }
  if (v.is_uint64()) {
    return ExactInteger{false, v.get_uint64()};
  }
  const double d = v.get_double();
  constexpr double kTwo64 = 18446744073709551616.0;
  if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) >= kTwo64) {
    return std::nullopt;
  }
  return ExactInteger{d < 0, static_cast<std::uint64_t>(std::fabs(d))};
}

bool NumbersEqual(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    return a.get_double() == b.get_double();
  }
  const std::optional<ExactInteger> x = AsExactInteger(a);
  const std::optional<ExactInteger> y = AsExactInteger(b);
  return x.has_value() && y.has_value() && *x == *y;
}

std::size_t Mix(std::size_t h) {  // splitmix64's finalizer
  std::uint64_t z = static_cast<std::uint64_t>(h) + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return static_cast<std::size_t>(z ^ (z >> 31));
}

std::size_t NumberHash(const json::value& v) {
  if (const std::optional<ExactInteger> i = AsExactInteger(v)) {
    return Mix(i->magnitude ^ (i->negative && i->magnitude != 0 ? 0x5555555555555555ULL : 0));
  }
  return Mix(std::hash<double>()(v.get_double()) ^ 0xA5A5A5A5ULL);
}

}  // namespace

bool JsonEquals(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    return NumbersEqual(a, b);
  }
  if (a.kind() != b.kind()) {
    return false;
  }
  if (a.is_array()) {
    const json::array& x = a.get_array();
    const json::array& y = b.get_array();
    if (x.size() != y.size()) {
      return false;
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!JsonEquals(x[i], y[i])) {
        return false;
      }
    }
    return true;
  }
  if (a.is_object()) {
    const json::object& x = a.get_object();
    const json::object& y = b.get_object();
    if (x.size() != y.size()) {
      return false;
    }
    for (const auto& member : x) {
      const json::value* other = y.if_contains(member.key());
      if (other == nullptr || !JsonEquals(member.value(), *other)) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

std::size_t JsonHash(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return 0x1234;
    case json::kind::bool_:
      return v.get_bool() ? 0x7777 : 0x8888;
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return NumberHash(v);
    case json::kind::string:
      return Mix(std::hash<std::string_view>()(std::string_view(v.get_string())));
    case json::kind::array: {
      std::size_t h = 0xA77A7;
      for (const json::value& e : v.get_array()) {
        h = Mix(h * 31 + JsonHash(e));
      }
      return h;
    }
    case json::kind::object: {
      std::size_t h = 0x0B1EC7;  // members in any order: combine commutatively
      for (const auto& kv : v.get_object()) {
        h += Mix(std::hash<std::string_view>()(std::string_view(kv.key())) * 17 + JsonHash(kv.value()));
      }
      return Mix(h);
    }
  }
  return 0;
}

JsonValueSet::JsonValueSet(const json::array& items) : items_(items), buckets_(items.size() * 2 + 1) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    buckets_[JsonHash(items[i]) % buckets_.size()].push_back(i);
  }
}

bool JsonValueSet::Contains(const json::value& v) const {
  for (std::size_t i : buckets_[JsonHash(v) % buckets_.size()]) {
    if (JsonEquals(items_[i], v)) {
      return true;
    }
  }
  return false;
}

std::vector<std::size_t> FirstOccurrences(const json::array& items) {
  std::vector<std::vector<std::size_t>> buckets(items.size() * 2 + 1);
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::vector<std::size_t>& bucket = buckets[JsonHash(items[i]) % buckets.size()];
    bool seen = false;
    for (std::size_t j : bucket) {
      if (JsonEquals(items[j], items[i])) {
        seen = true;
        break;
      }
    }
    if (!seen) {
      bucket.push_back(i);
      kept.push_back(i);
    }
  }
  return kept;
}

bool ContainsSubstring(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) {
    return true;
  }
  return memmem(haystack.data(), haystack.size(), needle.data(), needle.size()) != nullptr;
}

}  // namespace stepflow::sm
