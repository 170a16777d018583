#include "statemachine/json_value.h"

#include <string.h>  // memmem (GNU)

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>

namespace stepflow::sm {
namespace json = boost::json;
namespace {

// An integral number as (negative, magnitude); nullopt for non-integral doubles and values outside
// [-2^64, 2^64).
struct ExactInteger {
  bool negative;
  std::uint64_t magnitude;
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

template <typename T>
int ThreeWay(const T& a, const T& b) {
  if (a < b) {
    return -1;
  }
  if (b < a) {
    return 1;
  }
  return 0;
}

constexpr double kTwoPow63 = 9223372036854775808.0;
constexpr double kTwoPow64 = 18446744073709551616.0;

// Sign of (i - d) for a finite d.
int CompareIntDouble(std::int64_t i, double d) {
  if (d >= kTwoPow63) {
    return -1;
  }
  if (d < -kTwoPow63) {
    return 1;
  }
  const double whole = std::trunc(d);  // in [-2^63, 2^63): converts exactly
  const int by_whole = ThreeWay(i, static_cast<std::int64_t>(whole));
  if (by_whole != 0) {
    return by_whole;
  }
  return ThreeWay(whole, d);  // i == trunc(d): the fraction decides
}

// Sign of (u - d) for a finite d.
int CompareUintDouble(std::uint64_t u, double d) {
  if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return CompareIntDouble(static_cast<std::int64_t>(u), d);
  }
  if (d >= kTwoPow64) {
    return -1;
  }
  if (d < kTwoPow63) {
    return 1;
  }
  const double whole = std::trunc(d);
  const int by_whole = ThreeWay(u, static_cast<std::uint64_t>(whole));
  if (by_whole != 0) {
    return by_whole;
  }
  return ThreeWay(whole, d);
}

// Sign of (i - u).
int CompareIntUint(std::int64_t i, std::uint64_t u) {
  if (i < 0) {
    return -1;
  }
  return ThreeWay(static_cast<std::uint64_t>(i), u);
}

// The UTF-16 code units of `utf8`; malformed bytes become U+FFFD.
std::u16string ToUtf16(std::string_view utf8) {
  std::u16string out;
  out.reserve(utf8.size());
  std::size_t i = 0;
  while (i < utf8.size()) {
    const unsigned char lead = static_cast<unsigned char>(utf8[i]);
    char32_t cp = 0xFFFD;
    std::size_t len = 1;
    if (lead < 0x80) {
      cp = lead;
    } else if ((lead >> 5) == 0x6) {
      len = 2;
      cp = lead & 0x1F;
    } else if ((lead >> 4) == 0xE) {
      len = 3;
      cp = lead & 0x0F;
    } else if ((lead >> 3) == 0x1E) {
      len = 4;
      cp = lead & 0x07;
    }
    if (len > 1) {
      if (i + len > utf8.size()) {
        cp = 0xFFFD;
        len = 1;
      } else {
        for (std::size_t k = 1; k < len; ++k) {
          const unsigned char cont = static_cast<unsigned char>(utf8[i + k]);
          if ((cont >> 6) != 0x2) {
            cp = 0xFFFD;
            len = 1;
            break;
          }
          cp = (cp << 6) | (cont & 0x3F);
        }
      }
    }
    if (cp >= 0x10000 && cp <= 0x10FFFF) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp > 0x10FFFF ? 0xFFFD : cp));
    }
    i += len;
  }
  return out;
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

int CompareNumbers(const json::value& a, const json::value& b) {
  if (a.kind() == json::kind::int64) {
    const std::int64_t x = a.get_int64();
    switch (b.kind()) {
      case json::kind::int64:
        return ThreeWay(x, b.get_int64());
      case json::kind::uint64:
        return CompareIntUint(x, b.get_uint64());
      default:
        return CompareIntDouble(x, b.get_double());
    }
  }
  if (a.kind() == json::kind::uint64) {
    const std::uint64_t x = a.get_uint64();
    switch (b.kind()) {
      case json::kind::int64:
        return -CompareIntUint(b.get_int64(), x);
      case json::kind::uint64:
        return ThreeWay(x, b.get_uint64());
      default:
        return CompareUintDouble(x, b.get_double());
    }
  }
  const double x = a.get_double();
  switch (b.kind()) {
    case json::kind::int64:
      return -CompareIntDouble(b.get_int64(), x);
    case json::kind::uint64:
      return -CompareUintDouble(b.get_uint64(), x);
    default:
      return ThreeWay(x, b.get_double());  // -0.0 == 0.0
  }
}

int CompareStrings(std::string_view a, std::string_view b) {
  if (a == b) {
    return 0;
  }
  return ThreeWay(ToUtf16(a), ToUtf16(b));
}

std::optional<int> CompareOrdered(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    return CompareNumbers(a, b);
  }
  if (a.is_string() && b.is_string()) {
    return CompareStrings(a.get_string(), b.get_string());
  }
  return std::nullopt;
}

std::optional<std::int64_t> TruncateToInt64(const json::value& v) {
  if (v.is_int64()) {
    return v.get_int64();
  }
  if (v.is_uint64()) {
    const std::uint64_t u = v.get_uint64();
    return u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
               ? std::numeric_limits<std::int64_t>::max()
               : static_cast<std::int64_t>(u);
  }
  if (!v.is_double()) {
    return std::nullopt;
  }
  const double d = std::trunc(v.get_double());
  if (d >= kTwoPow63) {
    return std::numeric_limits<std::int64_t>::max();
  }
  if (d < -kTwoPow63) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return static_cast<std::int64_t>(d);  // in [-2^63, 2^63): exact
}

bool JsonEquals(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    return CompareNumbers(a, b) == 0;
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
