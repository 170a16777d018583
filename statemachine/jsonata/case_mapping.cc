// $uppercase / $lowercase as jsonata-js runs them: JavaScript's String.prototype.toUpperCase and
// toLowerCase, i.e. Unicode's default full case mapping, independent of any locale.
//
// Per-character mappings come from the C library (towupper_l / towlower_l on the C.UTF-8 locale, which
// glibc derives from UnicodeData.txt): nothing new to link, kept up to date with the distribution. On top of
// them: the unconditional multi-character mappings of SpecialCasing.txt (special_casing.inc: ß -> SS,
// ﬁ -> FI, İ -> i̇, ...) and the Final_Sigma rule (Σ lowercases to ς at the end of a word). ICU would be
// exact but is a large dependency for two functions. Without a C.UTF-8 locale (never on Debian: libc-bin
// ships it), only ASCII letters and the SpecialCasing entries change case.

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "statemachine/jsonata/unicode.h"

namespace stepflow::sm::jsonata {
namespace {

struct SpecialCase {
  std::uint32_t code_point;
  std::array<std::uint32_t, 3> lower;
  std::array<std::uint32_t, 3> upper;
};

constexpr SpecialCase kSpecialCases[] = {
#include "statemachine/jsonata/special_casing.inc"
};

const SpecialCase* FindSpecialCase(std::uint32_t cp) {
  auto it = std::lower_bound(std::begin(kSpecialCases), std::end(kSpecialCases), cp,
                             [](const SpecialCase& c, std::uint32_t v) { return c.code_point < v; });
  return it != std::end(kSpecialCases) && it->code_point == cp ? &*it : nullptr;
}

locale_t UnicodeLocale() {
  static const locale_t kLocale = [] {
    locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    return l != static_cast<locale_t>(nullptr) ? l : newlocale(LC_CTYPE_MASK, "C.utf8", static_cast<locale_t>(nullptr));
  }();
  return kLocale;
}

std::uint32_t SimpleUpper(std::uint32_t cp) {
  if (cp < 0x80) {
    return cp >= 'a' && cp <= 'z' ? cp - 'a' + 'A' : cp;
  }
  locale_t l = UnicodeLocale();
  return l == static_cast<locale_t>(nullptr) ? cp : static_cast<std::uint32_t>(towupper_l(static_cast<wint_t>(cp), l));
}

std::uint32_t SimpleLower(std::uint32_t cp) {
  if (cp < 0x80) {
    return cp >= 'A' && cp <= 'Z' ? cp - 'A' + 'a' : cp;
  }
  locale_t l = UnicodeLocale();
  return l == static_cast<locale_t>(nullptr) ? cp : static_cast<std::uint32_t>(towlower_l(static_cast<wint_t>(cp), l));
}

// One code point at `i` (advancing it). A byte that does not start a well-formed sequence comes back as
// itself with `raw` set, so that it is copied unchanged; WTF-8 lone surrogates decode (and re-encode) as is.
std::uint32_t Next(std::string_view s, std::size_t& i, bool& raw) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  raw = false;
  const int extra = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
  if (extra <= 0 || i + static_cast<std::size_t>(extra) >= s.size()) {
    raw = extra != 0;
    ++i;
    return c;
  }
  std::uint32_t cp = c & (0x3F >> extra);
  for (int k = 1; k <= extra; ++k) {
    const unsigned char cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((cc & 0xC0) != 0x80) {
      raw = true;
      ++i;
      return c;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += static_cast<std::size_t>(extra) + 1;
  return cp;
}

// Case_Ignorable, approximated by the marks and punctuation that occur inside words (apostrophes, periods,
// combining diacritics); enough for Final_Sigma's "is this sigma at the end of a word".
bool CaseIgnorable(std::uint32_t cp) {
  switch (cp) {
    case 0x0027: case 0x002E: case 0x003A: case 0x005E: case 0x0060: case 0x00A8: case 0x00AD: case 0x00AF:
    case 0x00B4: case 0x00B7: case 0x00B8: case 0x2018: case 0x2019: case 0x2024: case 0x2027:
      return true;
    default:
      return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x0483 && cp <= 0x0489) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
             (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) || (cp >= 0xFE20 && cp <= 0xFE2F);
  }
}

bool Cased(std::uint32_t cp) { return SimpleLower(cp) != cp || SimpleUpper(cp) != cp || FindSpecialCase(cp) != nullptr; }

// Final_Sigma: a cased letter (then any case-ignorables) before, and no cased letter (after any
// case-ignorables) after.
bool FinalSigma(const std::u32string& text, std::size_t at) {
  std::size_t i = at;
  bool cased_before = false;
  while (i > 0) {
    --i;
    if (!CaseIgnorable(text[i])) {
      cased_before = Cased(text[i]);
      break;
    }
  }
  if (!cased_before) {
    return false;
  }
  for (std::size_t j = at + 1; j < text.size(); ++j) {
    if (!CaseIgnorable(text[j])) {
      return !Cased(text[j]);
    }
  }
  return true;
}

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

constexpr std::uint32_t kRawByte = 0x80000000;  // marks a byte copied as it is

std::string Map(std::string_view utf8, bool upper) {
  std::string out;
  out.reserve(utf8.size());
  if (IsAscii(utf8)) {
    for (char c : utf8) {
      out += static_cast<char>(upper ? SimpleUpper(static_cast<unsigned char>(c)) : SimpleLower(static_cast<unsigned char>(c)));
    }
    return out;
  }
  std::u32string text;
  for (std::size_t i = 0; i < utf8.size();) {
    bool raw = false;
    const std::uint32_t cp = Next(utf8, i, raw);
    text += raw ? (cp | kRawByte) : cp;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::uint32_t cp = text[i];
    if ((cp & kRawByte) != 0) {
      out += static_cast<char>(cp & 0xFF);
      continue;
    }
    if (!upper && cp == 0x03A3 && FinalSigma(text, i)) {
      AppendUtf8(out, 0x03C2);
      continue;
    }
    if (const SpecialCase* special = FindSpecialCase(cp)) {
      for (std::uint32_t m : upper ? special->upper : special->lower) {
        if (m != 0) {
          AppendUtf8(out, m);
        }
      }
      continue;
    }
    AppendUtf8(out, upper ? SimpleUpper(cp) : SimpleLower(cp));
  }
  return out;
}

}  // namespace

std::string JsToUpperCase(std::string_view utf8) { return Map(utf8, true); }
std::string JsToLowerCase(std::string_view utf8) { return Map(utf8, false); }

}  // namespace stepflow::sm::jsonata
