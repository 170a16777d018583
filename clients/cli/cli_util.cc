#include "clients/cli/cli_util.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "statemachine/json_parse.h"

namespace stepflow::cli {
namespace {

// Definitions, inputs and mock configurations read by the CLI may nest this deep.
constexpr std::size_t kMaxCliJsonDepth = 10000;

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read: ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": read error"));
  }
  return text.str();
}

absl::StatusOr<boost::json::value> ParseJson(const std::string& text, const std::string& path) {
  sm::JsonParseOptions options;
  options.max_depth = kMaxCliJsonDepth;
  return sm::ParseJson(text, path, options);
}

absl::StatusOr<boost::json::value> ReadJsonFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return text.status();
  }
  return ParseJson(*text, path);
}

}  // namespace stepflow::cli
