#pragma once
// Helpers shared by the fuzz targets.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace stepflow::fuzz {

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Splits "first\nrest" at the first newline (the whole text and "" when there is none).
inline std::pair<std::string_view, std::string_view> SplitFirstLine(std::string_view text) {
  const std::size_t nl = text.find('\n');
  if (nl == std::string_view::npos) {
    return {text, std::string_view()};
  }
  return {text.substr(0, nl), text.substr(nl + 1)};
}

// A broken invariant: report it and abort, so that libFuzzer saves the input.
[[noreturn]] inline void Violated(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

}  // namespace stepflow::fuzz
