#pragma once
// The plumbing of one REST call (internal to rest_api.cc and rest_routes.cc): the request message from the
// path, query and body; the caller; the audit line; the JSON answers.

#include <google/protobuf/message.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/api/auth.h"
#include "engine/api/handler_env.h"
#include "engine/api/http_listener.h"

namespace stepflow::api::rest {

// The values of a route's "{...}" path segments, percent-decoded, in order.
using PathParams = std::vector<std::string>;

// One route: "METHOD" and its template under kRestPrefix ("/executions/{arn}:stop").
struct Route {
  const char* method;
  const char* pattern;
  std::function<HttpResponse(ServiceEnv& env, const HttpRequest& request, const PathParams& params)> serve;
};

// Every route (rest_routes.cc).
const std::vector<Route>& AllRoutes();

// Fills `message` from the body (rest_json.h), then the query parameters (by JSON name or field name; "nextToken"
// is "pageToken", "stateMachineArn" is "stateMachine", "reverse" is "reverseOrder"; a name the message lacks is
// looked for in its "filter" field), then sets the string field `path_field` (when not null) to `path_value`.
// InvalidArgument with the parameter's name for an unknown parameter or a bad value.
absl::Status BuildRequest(const HttpRequest& http, const char* path_field, const std::string& path_value,
                          google::protobuf::Message* message);

// The caller of `http` (its "authorization: Bearer ..." header).
Caller CallerOf(const HttpRequest& http);

// The audit line of a call on `rpc` that ended with `status`: written for mutating calls and refusals, in
// the gRPC transport's format.
void Audit(const ServiceEnv& env, const Caller& caller, Rpc rpc, const google::protobuf::Message& request,
           const absl::Status& status);

// Refuses a mutating request that a browser could send from another site: a body without a JSON content type
// (415 UnsupportedMediaType), or an Origin header that does not name this host (403). OK otherwise.
absl::Status CheckNotCrossSite(const HttpRequest& http);

// `text` split at every `separator`; empty parts left out when `skip_empty`.
std::vector<std::string_view> Split(std::string_view text, char separator, bool skip_empty);

HttpResponse JsonAnswer(const google::protobuf::Message& message);
HttpResponse ErrorAnswer(const absl::Status& status);

}  // namespace stepflow::api::rest
