#pragma once
// Regular expressions on PCRE2 with bounded matching, for user-supplied patterns and subjects (JSONPath
// filters `=~ /re/`, and any later JSONata `$match`/`$contains`/`$replace`).
//
// std::regex recurses once per subject character: `/(a|b)*c/` over a 200 KB string overflows the stack
// and kills the process. PCRE2 (JIT-compiled where the platform supports it) matches without deep
// recursion and stops at a match limit and a depth/heap limit; a pattern or subject that reaches a limit
// gives an error the caller turns into an ASL failure (States.Runtime), never a crash.
//
// Thread-safety: a compiled BoundedRegex is immutable and may be used from several threads at once
// (each match allocates its own match data).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace stepflow::sm {

// Backtracking steps one match may take (PCRE2's match limit). Default 1,000,000: a linear pattern over
// a 256 KiB subject needs well under this; catastrophic backtracking reaches it within milliseconds.
inline constexpr std::uint32_t kDefaultRegexMatchLimit = 1'000'000;
// Backtracking depth for the interpreter (PCRE2's depth limit); the JIT is bounded by its stack instead.
inline constexpr std::uint32_t kDefaultRegexDepthLimit = 10'000;
// Heap (KiB) the interpreter may use for backtracking. Default 20 MiB.
inline constexpr std::uint32_t kDefaultRegexHeapLimitKib = 20 * 1024;
// Patterns longer than this are refused at compile time.
inline constexpr std::size_t kMaxRegexPatternBytes = 4096;

struct RegexOptions {
  // Case-insensitive matching (the `i` flag).
  bool ignore_case = false;
  // true: the whole subject must match (Java's Matcher.matches(), which JSONPath `=~` uses);
  // false: a match anywhere in the subject.
  bool full_match = true;
  // `^` and `$` also match at line breaks (the `m` flag). Default: false.
  bool multiline = false;
  // JavaScript-like syntax (JSONata): \u/\x escapes as ECMAScript writes them, and a backreference to
  // an unset group matches the empty string. Default: false (PCRE2's own syntax).
  bool javascript = false;
  // Default: kDefaultRegexMatchLimit.
  std::uint32_t match_limit = kDefaultRegexMatchLimit;
  // Default: kDefaultRegexDepthLimit.
  std::uint32_t depth_limit = kDefaultRegexDepthLimit;
  // Default: kDefaultRegexHeapLimitKib.
  std::uint32_t heap_limit_kib = kDefaultRegexHeapLimitKib;
};

class BoundedRegex {
 public:
  // Compiles `pattern` (PCRE2 syntax, UTF-8). InvalidArgument naming the problem and its offset in the
  // pattern for a syntax error or a pattern longer than kMaxRegexPatternBytes.
  static absl::StatusOr<BoundedRegex> Compile(std::string_view pattern, const RegexOptions& options = {});

  // Whether `subject` matches (wholly or anywhere, per RegexOptions::full_match). Invalid UTF-8 in the
  // subject simply does not match there. ResourceExhausted when the match reached a limit (the subject
  // and pattern are too costly to decide); Internal for any other PCRE2 failure.
  absl::StatusOr<bool> Matches(std::string_view subject) const;

  const std::string& pattern() const;

  // One match: group 0 is the whole match; each group is a byte range [start, end) of the subject, or
  // start = npos for a group that did not take part.
  struct Match {
    std::vector<std::pair<std::size_t, std::size_t>> groups;
  };
  // The first match starting at or after byte `start_offset` (no anchoring to the whole subject unless
  // full_match). nullopt when none; ResourceExhausted when a limit was reached; Internal otherwise.
  absl::StatusOr<std::optional<Match>> Search(std::string_view subject, std::size_t start_offset) const;
  // Number of capturing groups in the pattern.
  int capture_count() const;

  struct Impl;

 private:
  explicit BoundedRegex(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace stepflow::sm
