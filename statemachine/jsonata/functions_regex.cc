// $match, $contains, $replace, $split over a string or a regex (PCRE2 through BoundedRegex), with
// jsonata-js's iteration rules: a later zero-length match is error D1004.

#include <cmath>

#include "absl/strings/str_cat.h"
#include "statemachine/jsonata/functions.h"
#include "statemachine/jsonata/unicode.h"

namespace stepflow::sm::jsonata {
namespace {

struct RegexHit {
  std::size_t start = 0;
  std::size_t end = 0;
  std::vector<Value> groups;
};

// Byte offset of the UTF-16 offset `units` in `s`.
std::size_t ByteOffset(const std::string& s, double units) {
  std::size_t i = 0;
  double n = 0;
  while (i < s.size() && n < units) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    n += len == 4 ? 2 : 1;
    i += len;
  }
  return std::min(i, s.size());
}

// Iterates the matches over `subject` of a regex, or of a custom matcher function (which returns
// {match, start, end, groups, next}, as JSONata documents).
class Matcher {
 public:
  Matcher(Evaluator& ev, const Value& regex, const std::string& subject) : ev_(ev), subject_(subject) {
    if (!regex.is_function()) {
      Fail("T1010", -1);
    }
    if (regex.function().type == Function::Type::kRegex) {
      regex_ = regex.function().regex.get();
    } else {
      custom_ = regex;
    }
  }

  // The next match, or false at the end.
  bool Next(RegexHit* hit) {
    if (regex_ == nullptr) {
      return NextCustom(hit);
    }
    if (started_ && position_ >= subject_.size()) {
      return false;
    }
    absl::StatusOr<std::optional<BoundedRegex::Match>> m = regex_->regex->Search(subject_, position_);
    if (!m.ok()) {
      Fail("D1004", -1, std::string(m.status().message()));
    }
    if (!m->has_value()) {
      return false;
    }
    const auto& groups = (**m).groups;
    hit->start = groups[0].first;
    hit->end = groups[0].second;
    if (started_ && hit->start == hit->end) {
      Fail("D1004", -1, regex_->pattern);
    }
    hit->groups.clear();
    for (std::size_t g = 1; g < groups.size(); ++g) {
      hit->groups.push_back(groups[g].first == std::string::npos
                                ? Value::String("")
                                : Value::String(subject_.substr(groups[g].first, groups[g].second - groups[g].first)));
    }
    started_ = true;
    position_ = hit->end;
    return true;
  }

 private:
  bool NextCustom(RegexHit* hit) {
    Value r;
    if (!started_) {
      r = ev_.Apply(custom_, {Value::String(subject_)}, Value(), ev_.root(), -1);
    } else if (next_.is_function()) {
      r = ev_.Apply(next_, {}, Value(), ev_.root(), -1);
    }
    started_ = true;
    if (r.undefined()) {
      return false;
    }
    const Value* start = r.is_object() ? r.object().Find("start") : nullptr;
    const Value* end = r.is_object() ? r.object().Find("end") : nullptr;
    const Value* groups = r.is_object() ? r.object().Find("groups") : nullptr;
    const Value* next = r.is_object() ? r.object().Find("next") : nullptr;
    if (start == nullptr || end == nullptr || !start->is_number() || !end->is_number() || groups == nullptr ||
        !groups->is_array()) {
      Fail("T1010", -1);
    }
    hit->start = ByteOffset(subject_, start->number());
    hit->end = std::max(hit->start, ByteOffset(subject_, end->number()));
    hit->groups = groups->array().items;
    next_ = next == nullptr ? Value() : *next;
    return true;
  }

  Evaluator& ev_;
  const RegexLiteral* regex_ = nullptr;
  Value custom_;
  Value next_;
  const std::string& subject_;
  std::size_t position_ = 0;
  bool started_ = false;
};

double Utf16Offset(const std::string& s, std::size_t byte) {
  return static_cast<double>(Utf16Length(std::string_view(s).substr(0, byte)));
}

Value MatchObject(const std::string& subject, const RegexHit& hit, bool with_end) {
  Value o = MakeObject();
  o.object().Set("match", Value::String(subject.substr(hit.start, hit.end - hit.start)));
  o.object().Set(with_end ? "start" : "index", Value::Number(Utf16Offset(subject, hit.start)));
  if (with_end) {
    o.object().Set("end", Value::Number(Utf16Offset(subject, hit.end)));
  }
  o.object().Set("groups", MakeArray(hit.groups));
  return o;
}

bool LimitReached(const std::vector<Value>& a, std::size_t index, std::int64_t count) {
  return a.size() > index && !a[index].undefined() && static_cast<double>(count) >= a[index].number();
}

}  // namespace

Value RegexMatchObject(const RegexLiteral& regex, const std::string& subject, std::size_t start) {
  absl::StatusOr<std::optional<BoundedRegex::Match>> m = regex.regex->Search(subject, start);
  if (!m.ok()) {
    Fail("D1004", -1, std::string(m.status().message()));
  }
  if (!m->has_value()) {
    return Value();
  }
  RegexHit hit;
  hit.start = (**m).groups[0].first;
  hit.end = (**m).groups[0].second;
  for (std::size_t g = 1; g < (**m).groups.size(); ++g) {
    const auto& [s, e] = (**m).groups[g];
    hit.groups.push_back(s == std::string::npos ? Value::String("") : Value::String(subject.substr(s, e - s)));
  }
  return MatchObject(subject, hit, true);
}

namespace fn {

Value Match(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  if (a.size() > 2 && !a[2].undefined() && a[2].number() < 0) {
    Fail("D3040", -1);
  }
  std::vector<Value> out;
  Matcher matcher(ev, a[1], a[0].str());
  RegexHit hit;
  while (!LimitReached(a, 2, static_cast<std::int64_t>(out.size())) && matcher.Next(&hit)) {
    out.push_back(MatchObject(a[0].str(), hit, false));
  }
  return MakeSequence(std::move(out));
}

Value Contains(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  if (a[1].is_string()) {
    return Value::Bool(a[0].str().find(a[1].str()) != std::string::npos);
  }
  Matcher matcher(ev, a[1], a[0].str());
  RegexHit hit;
  return Value::Bool(matcher.Next(&hit));
}

namespace {

// Expands `$0`, `$n`, `$$` in a replacement string as jsonata-js does.
std::string Substitute(const std::string& replacement, const std::string& matched, const std::vector<Value>& groups) {
  std::string out;
  std::size_t position = 0;
  std::size_t index = replacement.find('$');
  while (index != std::string::npos && position < replacement.size()) {
    out += replacement.substr(position, index - position);
    position = index + 1;
    char next = position < replacement.size() ? replacement[position] : '\0';
    if (next == '$') {
      out += '$';
      ++position;
    } else if (next == '0') {
      out += matched;
      ++position;
    } else {
      std::size_t max_digits = groups.empty() ? 1 : static_cast<std::size_t>(std::floor(std::log10(groups.size()))) + 1;
      std::size_t digits = 0;
      while (digits < max_digits && position + digits < replacement.size() &&
             std::isdigit(static_cast<unsigned char>(replacement[position + digits]))) {
        ++digits;
      }
      if (digits == 0) {
        out += '$';
      } else {
        std::size_t group = std::stoul(replacement.substr(position, digits));
        if (digits > 1 && group > groups.size()) {
          --digits;
          group = std::stoul(replacement.substr(position, digits));
        }
        if (!groups.empty() && group >= 1 && group <= groups.size()) {
          out += groups[group - 1].str();
        }
        position += std::to_string(group).size();
      }
    }
    index = replacement.find('$', position);
  }
  if (position < replacement.size()) {
    out += replacement.substr(position);
  }
  return out;
}

}  // namespace

Value Replace(Evaluator& ev, Args& a, const Value& input) {
  if (a[0].undefined()) {
    return Value();
  }
  if (a[1].is_string() && a[1].str().empty()) {
    Fail("D3010", -1);
  }
  if (a.size() > 3 && !a[3].undefined() && a[3].number() < 0) {
    Fail("D3011", -1);
  }
  const std::string& str = a[0].str();
  std::string out;
  std::size_t position = 0;
  std::int64_t count = 0;
  if (a[1].is_string()) {
    const std::string& pattern = a[1].str();
    std::string replacement = a[2].is_string() ? a[2].str() : "";
    std::size_t index = str.find(pattern);
    while (index != std::string::npos && !LimitReached(a, 3, count)) {
      out += str.substr(position, index - position);
      out += replacement;
      position = index + pattern.size();
      ++count;
      ev.CheckStringSize(out.size());
      index = str.find(pattern, position);
    }
    out += str.substr(position);
    return Value::String(std::move(out));
  }
  Matcher matcher(ev, a[1], str);
  RegexHit hit;
  while (!LimitReached(a, 3, count) && matcher.Next(&hit)) {
    out += str.substr(position, hit.start - position);
    std::string matched = str.substr(hit.start, hit.end - hit.start);
    if (a[2].is_string()) {
      out += Substitute(a[2].str(), matched, hit.groups);
    } else {
      Value r = ev.Apply(a[2], {MatchObject(str, hit, false)}, input, ev.root(), -1);
      if (!r.is_string()) {
        Fail("D3012", -1);
      }
      out += r.str();
    }
    ev.CheckStringSize(out.size());
    position = hit.end;
    ++count;
  }
  out += str.substr(position);
  return Value::String(std::move(out));
}

Value Split(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  if (a.size() > 2 && !a[2].undefined() && a[2].number() < 0) {
    Fail("D3020", -1);
  }
  const std::string& str = a[0].str();
  std::vector<Value> out;
  if (a[1].is_string()) {
    const std::string& sep = a[1].str();
    if (sep.empty()) {
      for (std::size_t i = 0; i < str.size();) {
        unsigned char c = static_cast<unsigned char>(str[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        out.push_back(Value::String(str.substr(i, n)));
        i += n;
      }
    } else {
      std::size_t start = 0;
      while (true) {
        std::size_t index = str.find(sep, start);
        if (index == std::string::npos) {
          out.push_back(Value::String(str.substr(start)));
          break;
        }
        out.push_back(Value::String(str.substr(start, index - start)));
        start = index + sep.size();
      }
    }
    if (a.size() > 2 && !a[2].undefined() && static_cast<double>(out.size()) > a[2].number()) {
      out.resize(static_cast<std::size_t>(a[2].number()));
    }
    return MakeArray(std::move(out));
  }
  Matcher matcher(ev, a[1], str);
  RegexHit hit;
  std::size_t start = 0;
  std::int64_t count = 0;
  bool any = false;
  while (!LimitReached(a, 2, count) && matcher.Next(&hit)) {
    any = true;
    out.push_back(Value::String(str.substr(start, hit.start - start)));
    start = hit.end;
    ++count;
  }
  if (!any) {
    if (!LimitReached(a, 2, 0)) {
      out.push_back(a[0]);
    }
  } else if (!LimitReached(a, 2, count)) {
    out.push_back(Value::String(str.substr(start)));
  }
  return MakeArray(std::move(out));
}

}  // namespace fn
}  // namespace stepflow::sm::jsonata
