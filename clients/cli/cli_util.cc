#include "clients/cli/cli_util.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace stepflow::cli {

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
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 10000;
  boost::json::stream_parser parser({}, options);
  std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec) {
    parser.finish(ec);
  }
  if (ec) {
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < consumed && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": invalid JSON at line ", line, ", column ", column, ": ", ec.message()));
  }
  return parser.release();
}

absl::StatusOr<boost::json::value> ReadJsonFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return text.status();
  }
  return ParseJson(*text, path);
}

}  // namespace stepflow::cli
