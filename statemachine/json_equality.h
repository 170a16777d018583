#pragma once
// The statemachine module's one JSON equality, and a hash consistent with it, for States.ArrayUnique,
// States.ArrayContains and JSONPath filters (==, in, nin, contains, subsetof, anyof, noneof).
//
// Equality is structural; numbers compare by exact mathematical value whatever their representation
// (1 == 1.0 == 1u; 2^60 + 1 != 2^60 even though both round to the same double), object members compare
// regardless of order. It is an equivalence relation (transitive), so hashing and de-duplication are
// well defined.
//
// Thread-safety: stateless functions.

#include <cstddef>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace stepflow::sm {

bool JsonEquals(const boost::json::value& a, const boost::json::value& b);

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
