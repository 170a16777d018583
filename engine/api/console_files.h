#pragma once
// The ops console's static files (console/, built by Vite), served by the HTTP address at "/" (http_server.cc).
// The files are read into memory once, when the server starts, from a directory installed beside the
// binary (or named by --console-dir); a request is answered from that table only, so no request path can reach
// any other file (no directory traversal, no symlink escapes, no file changed under a running server).
//
//   GET /                        index.html
//   GET /assets/index-1a2b.js    the file, with its content type (by extension) and a long cache lifetime
//                                (Vite names assets by content hash)
//   GET /executions/abc          (no such file, no extension: a client route) index.html
//   GET /missing.js              404
//
// Thread-safety: immutable after Load; Serve may be called from any thread.

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace stepflow::api {

// Bounds of what Load reads: the console is a few hundred KiB; these stop a wrong directory (a home folder)
// from filling memory.
inline constexpr std::size_t kMaxConsoleFiles = 512;
inline constexpr std::size_t kMaxConsoleBytes = 64 * 1024 * 1024;

struct ConsoleFile {
  std::string content_type;
  std::string body;
};

struct ConsoleResponse {
  int status = 200;
  std::string content_type;
  std::string cache_control;
  const std::string* body = nullptr;  // into the ConsoleFiles; nullptr for a 404
};

class ConsoleFiles {
 public:
  // Reads every regular file under `dir` (symlinks and hidden names skipped). InvalidArgument naming the
  // directory when it has no index.html, holds more than kMaxConsoleFiles files or kMaxConsoleBytes bytes, or
  // cannot be read.
  static absl::StatusOr<ConsoleFiles> Load(const std::string& dir);

  // The answer to GET `path` (as sent, with no query). Paths are matched byte for byte against the stored
  // names (no percent-decoding: the console's files have plain names).
  ConsoleResponse Serve(const std::string& path) const;

  std::size_t size() const { return files_.size(); }

 private:
  std::map<std::string, ConsoleFile> files_;  // by URL path, "/index.html"
};

// The content type of a file name by its extension; application/octet-stream when unknown.
std::string ContentTypeOf(const std::string& name);

// The default console directory: "console" beside the running binary (/proc/self/exe); "" when unknown.
std::string DefaultConsoleDir();

}  // namespace stepflow::api
