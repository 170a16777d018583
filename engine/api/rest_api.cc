// The REST API's router and the plumbing of one call (rest_api.h, rest_call.h). The routes are in
// rest_routes.cc.
#include "engine/api/rest_api.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <boost/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/api/audit.h"
#include "engine/api/audit_interceptor.h"
#include "engine/api/error_mapping.h"
#include "engine/api/rest_call.h"
#include "engine/api/rest_json.h"

namespace stepflow::api {
namespace {

constexpr char kJson[] = "application/json";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Does the raw path segment `raw` match the template segment `pattern`? A "{name}" part captures the
// percent-decoded text into `params`; an ":op" suffix must be present raw.
bool MatchSegment(std::string_view pattern, std::string_view raw, rest::PathParams& params, bool& bad_escape) {
  if (pattern.empty() || pattern.front() != '{') {
    return pattern == raw;
  }
  std::size_t close = pattern.find('}');
  std::string_view suffix = pattern.substr(close + 1);  // "" or ":stop"
  if (raw.size() <= suffix.size() || raw.substr(raw.size() - suffix.size()) != suffix) {
    return false;
  }
  std::optional<std::string> value = PercentDecode(raw.substr(0, raw.size() - suffix.size()));
  if (!value.has_value()) {
    bad_escape = true;
    return false;
  }
  params.push_back(std::move(*value));
  return true;
}

std::vector<std::string_view> SplitPath(std::string_view path) { return rest::Split(path, '/', false); }

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return std::nullopt;
    }
    int hi = HexDigit(text[i + 1]);
    int lo = HexDigit(text[i + 2]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

HttpResponse RestApi::Handle(const HttpRequest& request) const {
  std::string_view path(request.path);
  path.remove_prefix(std::min(path.size(), std::string_view(kRestPrefix).size()));
  std::vector<std::string_view> raw = SplitPath(path);
  bool path_exists = false;
  bool bad_escape = false;
  for (const rest::Route& route : rest::AllRoutes()) {
    std::vector<std::string_view> pattern = SplitPath(route.pattern);
    if (pattern.size() != raw.size()) {
      continue;
    }
    rest::PathParams params;
    bool match = true;
    for (std::size_t i = 0; i < raw.size() && match; ++i) {
      match = MatchSegment(pattern[i], raw[i], params, bad_escape);
    }
    if (!match) {
      continue;
    }
    path_exists = true;
    if (request.method == route.method) {
      return route.serve(*env_, request, params);
    }
  }
  if (bad_escape) {
    return rest::ErrorAnswer(absl::InvalidArgumentError(
        "ValidationException: a path segment has a bad percent escape (ARNs go in paths percent-encoded)"));
  }
  if (path_exists) {
    return rest::ErrorAnswer(absl::InvalidArgumentError(
        absl::StrCat("ValidationException: ", request.method, " is not allowed on this resource")));
  }
  return rest::ErrorAnswer(absl::NotFoundError(
      absl::StrCat("ResourceNotFound: no route ", TruncateForMessage(request.path), " (see ", kRestPrefix,
                   "/openapi.json)")));
}

std::vector<std::string> RestApi::Routes() {
  std::vector<std::string> routes;
  for (const rest::Route& route : rest::AllRoutes()) {
    routes.push_back(absl::StrCat(route.method, " ", kRestPrefix, route.pattern));
  }
  return routes;
}

namespace rest {
namespace {

namespace json = boost::json;

// The query parameter names that differ from the messages' JSON names.
std::string_view Alias(std::string_view name) {
  if (name == "nextToken") {
    return "pageToken";
  }
  if (name == "stateMachineArn") {
    return "stateMachine";
  }
  if (name == "reverse") {
    return "reverseOrder";
  }
  return name;
}

const google::protobuf::FieldDescriptor* FindField(const google::protobuf::Descriptor* d, std::string_view name) {
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->json_name() == name) {
      return d->field(i);
    }
  }
  return d->FindFieldByName(std::string(name));
}

// Sets `object[json name of f]` to the query value `text`, typed for the field.
absl::Status PutQueryValue(const google::protobuf::FieldDescriptor* f, std::string_view name, const std::string& text,
                           json::object& object) {
  if (f->is_repeated() || (f->message_type() != nullptr && f->message_type()->full_name() !=
                                                                "google.protobuf.Timestamp")) {
    return absl::InvalidArgumentError(
        absl::StrCat("ValidationException: query parameter ", TruncateForMessage(name), " cannot be given here"));
  }
  if (f->type() == google::protobuf::FieldDescriptor::TYPE_BOOL) {
    if (text != "true" && text != "false") {
      return absl::InvalidArgumentError(absl::StrCat("ValidationException: query parameter ",
                                                     TruncateForMessage(name), " must be true or false"));
    }
    object[f->json_name()] = text == "true";
    return absl::OkStatus();
  }
  object[f->json_name()] = text;  // numbers, enums and timestamps are strings in the proto3 JSON mapping too
  return absl::OkStatus();
}

absl::Status QueryToJson(const HttpRequest& http, const google::protobuf::Descriptor* d, json::object& top) {
  if (http.query.empty()) {
    return absl::OkStatus();
  }
  const google::protobuf::FieldDescriptor* filter = d->FindFieldByName("filter");
  for (std::string_view pair : Split(http.query, '&', true)) {
    std::size_t eq = pair.find('=');
    std::string plus_as_space(pair.substr(eq == std::string_view::npos ? pair.size() : eq + 1));
    std::replace(plus_as_space.begin(), plus_as_space.end(), '+', ' ');
    std::optional<std::string> name = PercentDecode(pair.substr(0, eq));
    std::optional<std::string> value = PercentDecode(plus_as_space);
    if (!name.has_value() || !value.has_value()) {
      return absl::InvalidArgumentError("ValidationException: the query string has a bad percent escape");
    }
    std::string_view key = Alias(*name);
    if (const google::protobuf::FieldDescriptor* f = FindField(d, key)) {
      RETURN_IF_ERROR(PutQueryValue(f, *name, *value, top));
    } else if (const google::protobuf::FieldDescriptor* g =
                   filter != nullptr ? FindField(filter->message_type(), key) : nullptr) {
      json::value& sub = top[filter->json_name()];
      if (!sub.is_object()) {
        sub = json::object();
      }
      RETURN_IF_ERROR(PutQueryValue(g, *name, *value, sub.as_object()));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("ValidationException: unknown query parameter ", TruncateForMessage(*name)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status BuildRequest(const HttpRequest& http, const char* path_field, const std::string& path_value,
                          google::protobuf::Message* message) {
  RETURN_IF_ERROR(JsonToMessage(http.body, message));
  json::object query;
  RETURN_IF_ERROR(QueryToJson(http, message->GetDescriptor(), query));
  if (!query.empty()) {
    std::unique_ptr<google::protobuf::Message> from_query(message->New());
    RETURN_IF_ERROR(JsonToMessage(json::serialize(query), from_query.get()));
    message->MergeFrom(*from_query);
  }
  if (path_field != nullptr) {
    const google::protobuf::FieldDescriptor* f = message->GetDescriptor()->FindFieldByName(path_field);
    message->GetReflection()->SetString(message, f, path_value);
  }
  return absl::OkStatus();
}

Caller CallerOf(const HttpRequest& http) {
  Caller caller;
  if (auto it = http.headers.find("authorization"); it != http.headers.end()) {
    std::string value = it->second;
    constexpr std::string_view kBearer = "Bearer ";
    if (value.size() >= kBearer.size() &&
        absl::EqualsIgnoreCase(absl::string_view(value.data(), kBearer.size()), "Bearer ")) {
      value.erase(0, kBearer.size());
    }
    caller.bearer = value;
  }
  return caller;
}

void Audit(const ServiceEnv& env, const Caller& caller, Rpc rpc, const google::protobuf::Message& request,
           const absl::Status& status) {
  const bool refused = absl::IsPermissionDenied(status) || absl::IsUnauthenticated(status);
  if (!PolicyOf(rpc).mutating && !refused) {
    return;
  }
  AuditRecord record;
  record.who = CallerName(env.authorizer, caller);
  record.rpc = PolicyOf(rpc).method;
  record.resource = AuditResourceOf(request);
  record.result = GrpcCodeName(ToGrpcCode(status.code()));
  record.error = status.ok() ? "" : ErrorName(status);
  WriteAuditLine(record);
}

absl::Status CheckNotCrossSite(const HttpRequest& http) {
  if (!http.body.empty()) {
    auto type = http.headers.find("content-type");
    if (type == http.headers.end() || !absl::StartsWithIgnoreCase(type->second, kJson)) {
      return absl::InvalidArgumentError(
          "UnsupportedMediaType: a request with a body needs \"Content-Type: application/json\"");
    }
  }
  auto origin = http.headers.find("origin");
  if (origin != http.headers.end()) {
    auto host = http.headers.find("host");
    std::string_view o(origin->second);
    std::size_t scheme = o.find("://");
    std::string_view origin_host = scheme == std::string_view::npos ? o : o.substr(scheme + 3);
    if (host == http.headers.end() || origin_host != host->second) {
      return absl::PermissionDeniedError(
          "AccessDeniedException: a cross-origin request may not change anything (no CORS)");
    }
  }
  return absl::OkStatus();
}

std::vector<std::string_view> Split(std::string_view text, char separator, bool skip_empty) {
  std::vector<std::string_view> parts;
  for (;;) {
    std::size_t at = text.find(separator);
    std::string_view part = text.substr(0, at);
    if (!part.empty() || !skip_empty) {
      parts.push_back(part);
    }
    if (at == std::string_view::npos) {
      return parts;
    }
    text.remove_prefix(at + 1);
  }
}

HttpResponse JsonAnswer(const google::protobuf::Message& message) {
  HttpResponse response;
  response.content_type = kJson;
  response.body = MessageToJson(message);
  return response;
}

HttpResponse ErrorAnswer(const absl::Status& status) {
  HttpResponse response;
  response.status = ToHttpStatus(status.code());
  response.content_type = kJson;
  response.body = ErrorToJson(status);
  return response;
}

}  // namespace rest
}  // namespace stepflow::api
