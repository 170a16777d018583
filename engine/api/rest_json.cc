#include "engine/api/rest_json.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/precise_json.h"
#include "engine/api/error_mapping.h"

namespace stepflow::api {
namespace {

namespace json = boost::json;

bool IsEmbedded(std::string_view key) {
  return std::find(std::begin(kEmbeddedJsonFields), std::end(kEmbeddedJsonFields), key) !=
         std::end(kEmbeddedJsonFields);
}

absl::StatusOr<json::value> Parse(std::string_view text, const char* what) {
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  json::error_code ec;
  std::optional<json::value> value = common::ParsePreciseJson(text, ec, options);
  if (!value) {
    return absl::InvalidArgumentError(absl::StrCat("SerializationException: ", what, " is not valid JSON (",
                                                   ec.message(), "; at most ", kMaxJsonDepth, " levels deep)"));
  }
  return *std::move(value);
}

// InvalidArgument naming the first non-finite number under `value` (at JSON pointer `at`).
absl::Status CheckFinite(const json::value& value, const std::string& at) {
  if (value.is_double() && !std::isfinite(value.get_double())) {
    return absl::InvalidArgumentError(
        absl::StrCat("ValidationException: the number at ", at.empty() ? "/" : at, " is not finite"));
  }
  if (const json::object* o = value.if_object()) {
    for (const auto& [key, v] : *o) {
      if (absl::Status s = CheckFinite(v, absl::StrCat(at, "/", std::string(key.data(), key.size())));
          !s.ok()) {
        return s;
      }
    }
  }
  if (const json::array* a = value.if_array()) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (absl::Status s = CheckFinite((*a)[i], absl::StrCat(at, "/", i)); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

// Request side: every embedded field's JSON value becomes its text. The message's own structure only is walked,
// never the inside of an embedded value.
void Flatten(json::value& value) {
  if (json::object* o = value.if_object()) {
    for (auto& [key, v] : *o) {
      if (IsEmbedded(std::string_view(key.data(), key.size()))) {
        v = v.is_null() ? json::value(json::string()) : json::value(json::serialize(v));
      } else {
        Flatten(v);
      }
    }
  } else if (json::array* a = value.if_array()) {
    for (json::value& v : *a) {
      Flatten(v);
    }
  }
}

// Response side: every embedded field's text becomes its JSON value (null when empty; a string when the
// stored text is not JSON, which the engine never stores).
void Embed(json::value& value) {
  if (json::object* o = value.if_object()) {
    for (auto& [key, v] : *o) {
      if (IsEmbedded(std::string_view(key.data(), key.size())) && v.is_string()) {
        const json::string& text = v.get_string();
        if (text.empty()) {
          v = nullptr;
          continue;
        }
        json::error_code ec;
        if (std::optional<json::value> parsed = common::ParsePreciseJson(text, ec)) {
          v = *std::move(parsed);
        }
      } else {
        Embed(v);
      }
    }
  } else if (json::array* a = value.if_array()) {
    for (json::value& v : *a) {
      Embed(v);
    }
  }
}

}  // namespace

absl::Status JsonToMessage(std::string_view body, google::protobuf::Message* message) {
  message->Clear();
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return absl::OkStatus();  // no body: every field at its default
  }
  absl::StatusOr<json::value> value = Parse(body, "the request body");
  if (!value.ok()) {
    return value.status();
  }
  if (!value->is_object()) {
    return absl::InvalidArgumentError("SerializationException: the request body must be a JSON object");
  }
  if (absl::Status s = CheckFinite(*value, ""); !s.ok()) {
    return s;
  }
  Flatten(*value);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json::serialize(*value), message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SerializationException: ",
        TruncateForMessage(std::string_view(status.message().data(), status.message().size()))));
  }
  return absl::OkStatus();
}

std::string MessageToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(message, &text, options).ok()) {
    return "{}";
  }
  if (message.GetDescriptor()->full_name() == "google.protobuf.Struct") {
    return text;
  }
  json::error_code ec;
  std::optional<json::value> value = common::ParsePreciseJson(text, ec);
  if (!value) {
    return text;
  }
  Embed(*value);
  return json::serialize(*value);
}

std::string ErrorToJson(const absl::Status& status) {
  json::object body;
  body["error"] = ErrorName(status);
  std::string message(status.message());
  std::string_view name = ErrorNamePrefix(message);
  std::string_view rest = std::string_view(message).substr(name.size());
  if (!name.empty() && rest.substr(0, 2) == ": ") {
    rest.remove_prefix(2);
  }
  body["message"] = TruncateForMessage(rest, kMaxErrorMessageBytes);
  return json::serialize(body);
}

}  // namespace stepflow::api
