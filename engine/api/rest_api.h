#pragma once
// The REST API (README "REST API"; docs/rest-api.md; the OpenAPI document engine/api/openapi.json served at
// /api/v1/openapi.json): a thin adapter over the handlers of handlers.h, served by the HTTP listener. Each
// route builds the request message (body in the proto3 JSON mapping, rest_json.h; path and query parameters
// by their JSON names), admits the caller exactly as gRPC does (CallGate: the same role per operation), calls
// one handler, writes the same audit line as gRPC for every mutating or refused call, and answers the
// response message as JSON, or {"error": "<AWS error name>", "message": "..."} with the HTTP status of
// error_mapping.h.
//
// ARNs in paths are percent-encoded (':' as %3A, '/' as %2F); a raw ':' in a path segment introduces the
// operation (":stop", ":redrive", ":follow"...). A segment that holds a raw-colon ARN still works for the
// routes without an operation suffix.
//
// Cross-site requests: POST, PUT and DELETE need "Content-Type: application/json" when they have a body and
// are refused (403 AccessDeniedException) when an Origin header names another host; no CORS headers are sent.
//
// Thread-safety: Handle may be called from any number of threads at once.

#include <string>
#include <vector>

#include "engine/api/handler_env.h"
#include "engine/api/http_listener.h"

namespace stepflow::api {

inline constexpr char kRestPrefix[] = "/api/v1";

// How long POST /executions:start-sync waits by default, and at most ("timeoutSeconds" query parameter).
inline constexpr int kDefaultStartSyncSeconds = 60;
inline constexpr int kMaxStartSyncSeconds = 300;

class RestApi {
 public:
  explicit RestApi(ServiceEnv* env) : env_(env) {}  // not owned

  // Answers a request whose path starts with kRestPrefix.
  HttpResponse Handle(const HttpRequest& request) const;

  // Every route as "METHOD /api/v1/template" ("GET /api/v1/executions/{arn}"), in the OpenAPI document's
  // spelling (the test compares the two).
  static std::vector<std::string> Routes();

 private:
  ServiceEnv* env_;
};

// Percent-decodes `text` ('+' stays '+'); nullopt for a bad escape.
std::optional<std::string> PercentDecode(std::string_view text);

}  // namespace stepflow::api
