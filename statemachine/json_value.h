#pragma once
// The statemachine module's one place for comparing JSON values: equality (and a hash consistent with
// it), the ordering of numbers and of strings, and Java's number-to-long conversion. Choice rules,
// JSONPath filters (==, <, in, contains, subsetof, ...), the intrinsic functions (States.ArrayUnique,
// States.ArrayContains, integer arguments) and, later, JSONata all use these, so that they agree on every
// value, including the edges of Boost.JSON's three number representations (int64, uint64, double).
//
// Numbers compare by exact mathematical value whatever their representation: 1 == 1.0 == 1u;
// 2^53 + 1 (int64) != 2^53 (double) and 2^53 + 1 > 2^53, even though both round to the same double;
// INT64_MAX < 2^63 (uint64); -0.0 == 0. Equality is structural; object members compare regardless of
// order. It is an equivalence relation (transitive), so hashing and de-duplication are well defined, and
// it agrees with CompareNumbers (CompareNumbers(a, b) == 0 exactly when JsonEquals(a, b) for numbers).
//
// Thread-safety: stateless functions.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace stepflow::sm {

bool JsonEquals(const boost::json::value& a, const boost::json::value& b);

// Three-way comparison (<0, 0, >0) of two JSON numbers by exact value. Doubles are finite (the parsers
// refuse non-finite numbers). REQUIRES: a.is_number() && b.is_number().
int CompareNumbers(const boost::json::value& a, const boost::json::value& b);

// Three-way comparison of two strings by UTF-16 code units, as Java's String.compareTo (AWS) orders them;
// this differs from byte order for characters above U+FFFF against U+E000..U+FFFF. Malformed UTF-8
// bytes count as U+FFFD.
int CompareStrings(std::string_view a, std::string_view b);

// The ordering Choice rules and JSONPath filters apply: two numbers by CompareNumbers, two strings by
// CompareStrings; nullopt for any other pair (mixed or unordered kinds), which makes every ordered
// comparison false.
std::optional<int> CompareOrdered(const boost::json::value& a, const boost::json::value& b);

// Java's (long) cast of a number, which AWS applies to integer arguments of intrinsic functions:
// truncation toward zero, saturating at INT64_MIN / INT64_MAX (a uint64 above INT64_MAX gives INT64_MAX).
// nullopt when `v` is not a number.
std::optional<std::int64_t> TruncateToInt64(const boost::json::value& v);

// A hash with JsonEquals(a, b) => JsonHash(a) == JsonHash(b). Linear in the size of `v`.
std::size_t JsonHash(const boost::json::value& v);

// The indexes of the first occurrence of each distinct value of `items`, in order. Expected O(n) hash
// probes (each probe linear in the item's size), instead of comparing every pair.
std::vector<std::size_t> FirstOccurrences(const boost::json::array& items);

// A set of JSON values under JsonEquals, for membership tests against one array.
class JsonValueSet {
 public:
  explicit JsonValueSet(const boost::json::array& items);
  bool Contains(const boost::json::value& v) const;

 private:
  const boost::json::array& items_;
  std::vector<std::vector<std::size_t>> buckets_;
};

// Whether `needle` occurs in `haystack`, in O(n + m) (glibc's two-way memmem), not O(n * m).
bool ContainsSubstring(std::string_view haystack, std::string_view needle);

}  // namespace stepflow::sm
