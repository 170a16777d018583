#include "statemachine/jsonata/datetime_match.h"

#include <unordered_set>

#include "statemachine/jsonata/format_util.h"

namespace stepflow::sm::jsonata::internal {
namespace {

char32_t Fold(char32_t c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }
bool IsDigit(char32_t c) { return c >= '0' && c <= '9'; }
bool IsLetter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsRoman(char32_t c) { return std::u32string_view(U"mdclxvi").find(Fold(c)) != std::u32string_view::npos; }

bool MatchesAt(const std::u32string& text, size_t pos, std::u32string_view word) {
  if (pos + word.size() > text.size()) {
    return false;
  }
  for (size_t i = 0; i < word.size(); ++i) {
    if (Fold(text[pos + i]) != Fold(word[i])) {
      return false;
    }
  }
  return true;
}

size_t RunEnd(const std::u32string& text, size_t pos, bool (*pred)(char32_t)) {
  while (pos < text.size() && pred(text[pos])) {
    ++pos;
  }
  return pos;
}

// Ends of a greedy run of 1+ characters satisfying pred, longest first.
void GreedyRun(const std::u32string& text, size_t pos, bool (*pred)(char32_t), std::vector<size_t>& ends) {
  for (size_t end = RunEnd(text, pos, pred); end > pos; --end) {
    ends.push_back(end);
  }
}

// The alternatives of jsonata-js's words regex, in its order (the keys of its word table, then "and" and
// the separators).
const std::vector<std::u32string>& WordTokens() {
  static const auto* tokens = new std::vector<std::u32string>{
      U"zero", U"one", U"two", U"three", U"four", U"five", U"six", U"seven", U"eight", U"nine", U"ten",
      U"eleven", U"twelve", U"thirteen", U"fourteen", U"fifteen", U"sixteen", U"seventeen", U"eighteen",
      U"nineteen", U"zeroth", U"first", U"second", U"third", U"fourth", U"fifth", U"sixth", U"seventh",
      U"eighth", U"ninth", U"tenth", U"eleventh", U"twelfth", U"thirteenth", U"fourteenth", U"fifteenth",
      U"sixteenth", U"seventeenth", U"eighteenth", U"nineteenth", U"twenty", U"twentieth", U"thirty",
      U"thirtieth", U"forty", U"fortieth", U"fifty", U"fiftieth", U"sixty", U"sixtieth", U"seventy",
      U"seventieth", U"eighty", U"eightieth", U"ninety", U"ninetieth", U"hundred", U"hundreieth",
      U"hundredth", U"thousand", U"thousandth", U"million", U"millionth", U"billion", U"billionth",
      U"trillion", U"trillionth", U"and", U"-", U",", U" "};
  return *tokens;
}

// (?:token|...)+ : ends in the order a backtracking engine tries them (more repetitions first, then the
// alternatives in order), each end once. Iterative, so long subjects cannot overflow the stack.
void WordEnds(const std::u32string& text, size_t pos, std::vector<size_t>& ends, long long& steps) {
  const auto& tokens = WordTokens();
  struct Frame {
    size_t position;
    size_t next_token;
  };
  std::vector<Frame> stack = {{pos, 0}};
  std::unordered_set<size_t> visited;
  while (!stack.empty() && steps < kMaxMatchSteps) {
    Frame& top = stack.back();
    if (top.next_token == tokens.size()) {
      size_t done = top.position;
      stack.pop_back();
      if (!stack.empty()) {
        ends.push_back(done);
      }
      continue;
    }
    const std::u32string& token = tokens[top.next_token++];
    ++steps;
    if (MatchesAt(text, top.position, token)) {
      size_t next = top.position + token.size();
      if (visited.insert(next).second) {
        stack.push_back({next, 0});
      }
    }
  }
}

void DigitEnds(const std::u32string& text, size_t pos, const MatchPart& part, std::vector<size_t>& ends) {
  size_t run = RunEnd(text, pos, IsDigit) - pos;
  size_t max = part.max_digits < 0 ? run : std::min(run, static_cast<size_t>(part.max_digits));
  // [0-9]+ needs a digit; [0-9]{min,max} may match none when min is 0 (then parseInt gives NaN).
  long long min = part.max_digits < 0 ? 1 : std::max(part.min_digits, 0);
  for (long long length = static_cast<long long>(max); length >= min; --length) {
    size_t end = pos + length;
    if (!part.ordinal) {
      ends.push_back(end);
    } else {
      for (std::u32string_view suffix : {U"th", U"st", U"nd", U"rd"}) {
        if (MatchesAt(text, end, suffix)) {
          ends.push_back(end + 2);
        }
      }
    }
  }
}

void TimezoneEnds(const std::u32string& text, size_t pos, const MatchPart& part, std::vector<size_t>& ends) {
  if (part.gmt) {
    if (!MatchesAt(text, pos, U"gmt")) {
      return;
    }
    pos += 3;
  }
  if (pos >= text.size() || (text[pos] != '+' && text[pos] != '-')) {
    return;
  }
  ++pos;
  size_t hours_end = RunEnd(text, pos, IsDigit);
  if (hours_end == pos) {
    return;
  }
  if (!part.separator) {
    GreedyRun(text, pos, IsDigit, ends);
    return;
  }
  if (hours_end < text.size() && text[hours_end] == *part.separator) {
    GreedyRun(text, hours_end + 1, IsDigit, ends);
  }
}

class Matcher {
 public:
  Matcher(const std::u32string& text, const std::vector<MatchPart>& parts)
      : text_(text), parts_(parts), ends_(parts.size()) {}

  // Whether parts[index..] match text_[pos..] to its end; records each part's end.
  bool Match(size_t index, size_t pos) {
    if (index == parts_.size()) {
      return pos == text_.size();
    }
    if (steps_ >= kMaxMatchSteps || failed_.contains(Key(index, pos))) {
      return false;
    }
    std::vector<size_t> candidates;
    Candidates(parts_[index], pos, candidates);
    for (size_t end : candidates) {
      ++steps_;
      if (Match(index + 1, end)) {
        ends_[index] = end;
        return true;
      }
    }
    failed_.insert(Key(index, pos));
    return false;
  }

  bool exhausted() const { return steps_ >= kMaxMatchSteps; }
  const std::vector<size_t>& ends() const { return ends_; }

 private:
  unsigned long long Key(size_t index, size_t pos) const { return index * (text_.size() + 1) + pos; }

  void Candidates(const MatchPart& part, size_t pos, std::vector<size_t>& out) {
    switch (part.kind) {
      case MatchPart::Kind::kLiteral:
        if (MatchesAt(text_, pos, part.literal)) {
          out.push_back(pos + part.literal.size());
        }
        break;
      case MatchPart::Kind::kDigits:
        DigitEnds(text_, pos, part, out);
        break;
      case MatchPart::Kind::kLetters:
      case MatchPart::Kind::kName:
        GreedyRun(text_, pos, IsLetter, out);
        break;
      case MatchPart::Kind::kRoman:
        GreedyRun(text_, pos, IsRoman, out);
        break;
      case MatchPart::Kind::kWords:
        WordEnds(text_, pos, out, steps_);
        break;
      case MatchPart::Kind::kTimezone:
        TimezoneEnds(text_, pos, part, out);
        break;
    }
  }

  const std::u32string& text_;
  const std::vector<MatchPart>& parts_;
  std::vector<size_t> ends_;
  std::unordered_set<unsigned long long> failed_;
  long long steps_ = 0;
};

}  // namespace

absl::StatusOr<std::optional<std::vector<std::u32string>>> MatchParts(const std::u32string& text,
                                                                      const std::vector<MatchPart>& parts) {
  if (parts.size() > kMaxMatchParts) {
    return JsonataError(kLimitCode, "The date/time picture has more than 1000 parts to parse");
  }
  Matcher matcher(text, parts);
  bool matched = matcher.Match(0, 0);
  if (matcher.exhausted()) {
    return JsonataError(kLimitCode, "Matching the timestamp against the date/time picture takes too long");
  }
  if (!matched) {
    return std::optional<std::vector<std::u32string>>();
  }
  std::vector<std::u32string> captures;
  size_t start = 0;
  for (size_t end : matcher.ends()) {
    captures.push_back(text.substr(start, end - start));
    start = end;
  }
  return std::optional<std::vector<std::u32string>>(std::move(captures));
}

}  // namespace stepflow::sm::jsonata::internal
