#include "statemachine/jsonata/datetime_picture.h"

#include <cmath>

#include "statemachine/jsonata/format_util.h"

namespace stepflow::sm::jsonata::internal {
namespace {

// The presentation a component takes when the marker gives none.
std::optional<std::string> DefaultPresentation(char32_t component) {
  switch (component) {
    case 'Y': case 'M': case 'D': case 'd': case 'W': case 'w': case 'X': case 'x': case 'H': case 'h':
    case 'f':
      return "1";
    case 'F': case 'P': case 'C': case 'E':
      return "n";
    case 'm': case 's':
      return "01";
    case 'Z': case 'z':
      return "01:01";
    default:
      return std::nullopt;
  }
}

bool IsIntegerComponent(char32_t c) {
  return c != 0 && c < 0x80 && std::string_view("YMDdFWwXxHhmsf").find(static_cast<char>(c)) != std::string_view::npos;
}

// parseWidth: absent or "*" means no bound; otherwise JavaScript's parseInt (a value without digits is
// treated as no bound, where jsonata-js would go on with NaN).
std::optional<long long> ParseWidth(std::optional<std::u32string> text) {
  if (!text || *text == U"*") {
    return std::nullopt;
  }
  std::optional<double> value = JsParseInt(EncodeUtf8(*text));
  if (!value) {
    return std::nullopt;
  }
  return static_cast<long long>(std::fmax(std::fmin(*value, 1e18), -1e18));
}

void AddLiteral(std::vector<DateTimePart>& parts, const std::u32string& picture, size_t start, size_t end) {
  if (end <= start) {
    return;
  }
  std::u32string literal = picture.substr(start, end - start);
  std::u32string unescaped;  // "]]" is a literal "]"
  for (size_t i = 0; i < literal.size(); ++i) {
    unescaped.push_back(literal[i]);
    if (literal[i] == ']' && i + 1 < literal.size() && literal[i + 1] == ']') {
      ++i;
    }
  }
  parts.push_back(DateTimePart{true, EncodeUtf8(unescaped), {}});
}

absl::Status ApplyIntegerFormat(DateTimeMarker& marker) {
  std::string pattern = marker.presentation1;
  if (marker.presentation2 != 0) {
    pattern += ';';
    pattern += marker.presentation2;
  }
  absl::StatusOr<IntegerPicture> format = AnalyseIntegerPicture(pattern);
  if (!format.ok()) {
    return format.status();
  }
  marker.integer_format = std::move(*format);
  IntegerPicture& f = *marker.integer_format;
  if (marker.width_min && f.mandatory_digits < *marker.width_min) {
    f.mandatory_digits = static_cast<int>(*marker.width_min);
  }
  if (marker.component == 'Y' || marker.component == 'M' || marker.component == 'D') {
    marker.n = -1;
    if (marker.width_max) {
      marker.n = static_cast<int>(*marker.width_max);
      f.mandatory_digits = marker.n;
    } else if (f.mandatory_digits + f.optional_digits >= 2) {
      marker.n = f.mandatory_digits + f.optional_digits;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DateTimeMarker> AnalyseMarker(const std::u32string& raw) {
  std::u32string text;  // white space inside a marker is ignored
  for (char32_t c : raw) {
    if (!IsJsWhitespace(c)) {
      text.push_back(c);
    }
  }
  DateTimeMarker marker;
  marker.component = text.empty() ? 0 : text[0];
  size_t comma = text.rfind(U',');
  std::u32string presentation;
  if (comma != std::u32string::npos) {
    std::u32string width = text.substr(comma + 1);
    size_t dash = width.find(U'-');
    marker.has_width = true;
    if (dash == std::u32string::npos) {
      marker.width_min = ParseWidth(width);
    } else {
      marker.width_min = ParseWidth(width.substr(0, dash));
      marker.width_max = ParseWidth(width.substr(dash + 1));
    }
    presentation = comma >= 1 ? text.substr(1, comma - 1) : std::u32string();
  } else {
    presentation = text.size() > 1 ? text.substr(1) : std::u32string();
  }
  for (const std::optional<long long>& width : {marker.width_min, marker.width_max}) {
    if (width && *width > static_cast<long long>(kMaxFormattedChars)) {
      return TooLarge("The width modifier");
    }
  }
  std::optional<std::string> presentation1;
  if (presentation.size() == 1) {
    presentation1 = EncodeUtf8(presentation);
  } else if (presentation.size() > 1) {
    char32_t last = presentation.back();
    if (last == 'a' || last == 't' || last == 'c' || last == 'o') {
      marker.presentation2 = static_cast<char>(last);
      presentation1 = EncodeUtf8(presentation.substr(0, presentation.size() - 1));
    } else {
      presentation1 = EncodeUtf8(presentation);
    }
  } else {
    presentation1 = DefaultPresentation(marker.component);
  }
  if (!presentation1) {
    std::string component;
    AppendUtf8(component, marker.component);
    return JsonataError("D3132", "Unknown component specifier " + component + " in date/time picture string");
  }
  marker.presentation1 = *presentation1;
  if (marker.presentation1[0] == 'n') {
    marker.names = LetterCase::kLower;
  } else if (marker.presentation1[0] == 'N') {
    marker.names = marker.presentation1.size() > 1 && marker.presentation1[1] == 'n' ? LetterCase::kTitle
                                                                                    : LetterCase::kUpper;
  } else if (IsIntegerComponent(marker.component)) {
    absl::Status status = ApplyIntegerFormat(marker);
    if (!status.ok()) {
      return status;
    }
  }
  if (marker.component == 'Z' || marker.component == 'z') {
    absl::StatusOr<IntegerPicture> format = AnalyseIntegerPicture(marker.presentation1);
    if (!format.ok()) {
      return format.status();
    }
    marker.integer_format = std::move(*format);
  }
  return marker;
}

}  // namespace

absl::StatusOr<std::vector<DateTimePart>> AnalyseDateTimePicture(std::string_view picture_text) {
  std::u32string picture = DecodeUtf8(picture_text);
  std::vector<DateTimePart> parts;
  size_t start = 0;
  size_t pos = 0;
  while (pos < picture.size()) {
    if (picture[pos] != '[') {
      ++pos;
      continue;
    }
    if (pos + 1 < picture.size() && picture[pos + 1] == '[') {  // "[[" is a literal "["
      AddLiteral(parts, picture, start, pos);
      parts.push_back(DateTimePart{true, "[", {}});
      pos += 2;
      start = pos;
      continue;
    }
    AddLiteral(parts, picture, start, pos);
    size_t close = picture.find(U']', pos);
    if (close == std::u32string::npos) {
      return JsonataError("D3135", "No matching closing bracket ']' in date/time picture string");
    }
    absl::StatusOr<DateTimeMarker> marker = AnalyseMarker(picture.substr(pos + 1, close - pos - 1));
    if (!marker.ok()) {
      return marker.status();
    }
    parts.push_back(DateTimePart{false, "", std::move(*marker)});
    start = close + 1;
    pos = close + 1;
  }
  AddLiteral(parts, picture, start, pos);
  return parts;
}

}  // namespace stepflow::sm::jsonata::internal
