#include "clients/cli/cli_util.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
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

absl::StatusOr<std::string> ReadFile(const std::string& path, std::size_t max_bytes) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read: ", std::strerror(errno)));
  }
  if (S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a file"));
  }
  if (!S_ISREG(info.st_mode) && !S_ISFIFO(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a device or a socket, not a file"));
  }
  if (S_ISREG(info.st_mode) && static_cast<std::uintmax_t>(info.st_size) > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", info.st_size, " bytes; the limit is ", max_bytes, " bytes"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read: ", std::strerror(errno)));
  }
  std::string text;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) {  // a pipe has no size up front
      return absl::InvalidArgumentError(absl::StrCat(path, ": more than ", max_bytes, " bytes; the limit"));
    }
  }
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": read error"));
  }
  return text;
}

absl::StatusOr<boost::json::value> ParseJson(const std::string& text, const std::string& path) {
  sm::JsonParseOptions options;
  options.max_depth = kMaxCliJsonDepth;
  return sm::ParseJson(text, path, options);
}

absl::StatusOr<boost::json::value> ReadJsonFile(const std::string& path, std::size_t max_bytes) {
  absl::StatusOr<std::string> text = ReadFile(path, max_bytes);
  if (!text.ok()) {
    return text.status();
  }
  return ParseJson(*text, path);
}

}  // namespace stepflow::cli
