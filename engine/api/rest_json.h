#pragma once
// The REST API's bodies (internal to engine/api): the proto3 JSON mapping of the API's messages (protobuf's
// json_util: lowerCamelCase names, enums by name, Timestamps in RFC 3339, 64-bit integers as strings), with
// one change: the fields that hold JSON text (kEmbeddedJsonFields: definitions, inputs, outputs, event
// details, dead-letter payloads) carry the JSON value itself, not a string, both ways.
//
//   {"name":"orders","definition":{"StartAt":"A","States":{...}}}     (not "definition":"{\"StartAt\"...")
//
// Bounds: a body nests at most kMaxJsonDepth deep; numbers must be finite (1e400 is refused, as the engine
// refuses it in a definition or an input).

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace stepflow::api {

// The JSON names of the string fields that hold JSON text. An empty one is written as null.
inline constexpr std::string_view kEmbeddedJsonFields[] = {
    "definition", "input", "output", "details",
    // TestState's variables, mocked result and inspection data.
    "variables", "result", "afterInputPath", "afterParameters", "afterArguments", "afterResultSelector",
    "afterResultPath", "afterItemsPath", "afterItemSelector"};

// How deep a request body may nest (objects and arrays). Default: 512 (ASL definitions nest a few levels per
// Parallel or Map branch; the engine's own limits apply after this).
inline constexpr int kMaxJsonDepth = 512;

// Parses `body` into `message` (cleared first). InvalidArgument "SerializationException: ..." when it is not
// JSON, nests deeper than kMaxJsonDepth or names an unknown field; "ValidationException: ..." for a non-finite
// number, with the JSON pointer of the value.
absl::Status JsonToMessage(std::string_view body, google::protobuf::Message* message);

// `message` as the REST body (every field printed, empty JSON-text fields as null). A google.protobuf.Struct is
// printed as it is: its values are JSON already, and a caller's data inside them is never re-read.
std::string MessageToJson(const google::protobuf::Message& message);

// {"error":"<name>","message":"<message>"} for a non-OK `status` (its name: ErrorName in error_mapping.h).
std::string ErrorToJson(const absl::Status& status);

}  // namespace stepflow::api
