#include "engine/api/console_files.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace stepflow::api {
namespace {

namespace fs = std::filesystem;

constexpr char kIndex[] = "/index.html";
// Vite puts content-hashed files under /assets/: they never change under the same name.
constexpr char kImmutable[] = "public, max-age=31536000, immutable";
// index.html and unhashed files: always revalidated, so a new console is picked up on reload.
constexpr char kRevalidate[] = "no-cache";

bool HiddenName(const fs::path& p) {
  for (const fs::path& part : p) {
    if (!part.empty() && part.native()[0] == '.') {
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::string> ReadWhole(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("console: cannot read ", file.string()));
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

std::string ContentTypeOf(const std::string& name) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (absl::EndsWith(name, ext)) {
      return type;
    }
  }
  return "application/octet-stream";
}

std::string DefaultConsoleDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return "";
  }
  return (exe.parent_path() / "console").string();
}

absl::StatusOr<ConsoleFiles> ConsoleFiles::Load(const std::string& dir) {
  ConsoleFiles files;
  std::error_code ec;
  std::size_t total = 0;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("console: cannot read the directory ", dir, ": ", ec.message()));
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat("console: cannot read ", dir, ": ", ec.message()));
    }
    const fs::directory_entry& entry = *it;
    fs::path relative = entry.path().lexically_relative(dir);
    if (entry.is_symlink() || HiddenName(relative)) {
      if (entry.is_directory() && !entry.is_symlink()) {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (!entry.is_regular_file()) {
      continue;
    }
    if (files.files_.size() >= kMaxConsoleFiles) {
      return absl::InvalidArgumentError(
          absl::StrCat("console: ", dir, " holds more than ", kMaxConsoleFiles, " files; is it the console's build?"));
    }
    total += entry.file_size();
    if (total > kMaxConsoleBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("console: ", dir, " holds more than ", kMaxConsoleBytes, " bytes; is it the console's build?"));
    }
    absl::StatusOr<std::string> body = ReadWhole(entry.path());
    if (!body.ok()) {
      return body.status();
    }
    std::string url = absl::StrCat("/", relative.generic_string());
    files.files_[url] = ConsoleFile{ContentTypeOf(url), std::move(*body)};
  }
  if (files.files_.count(kIndex) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("console: ", dir, " has no index.html (build it: make console)"));
  }
  return files;
}

ConsoleResponse ConsoleFiles::Serve(const std::string& path) const {
  ConsoleResponse response;
  auto it = files_.find(path == "/" ? std::string(kIndex) : path);
  if (it != files_.end()) {
    response.content_type = it->second.content_type;
    response.cache_control = absl::StartsWith(path, "/assets/") ? kImmutable : kRevalidate;
    response.body = &it->second.body;
    return response;
  }
  // A dot segment or an escape never names a stored file (the console's names are plain); answering it with
  // index.html would hide a traversal attempt.
  if (absl::StrContains(path, "/./") || absl::StrContains(path, "/../") || absl::EndsWith(path, "/.") ||
      absl::EndsWith(path, "/..") || absl::StrContains(path, "\\") || absl::StrContains(path, "%") || path.empty() || path[0] != '/') {
    response.status = 404;
    return response;
  }
  // A client route ("/executions/abc") has no extension in its last segment; a missing file has one.
  std::string_view last = std::string_view(path).substr(path.rfind('/') + 1);
  if (last.find('.') == std::string_view::npos) {
    const ConsoleFile& index = files_.at(kIndex);
    response.content_type = index.content_type;
    response.cache_control = kRevalidate;
    response.body = &index.body;
    return response;
  }
  response.status = 404;
  return response;
}

}  // namespace stepflow::api
