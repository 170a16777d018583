#pragma once
// The REST API's OpenAPI 3 document (engine/api/openapi.json, embedded at build time), served at
// /api/v1/openapi.json.

#include <string_view>

namespace stepflow::api {

extern const std::string_view kOpenApiDocument;

}  // namespace stepflow::api
