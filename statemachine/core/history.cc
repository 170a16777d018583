#include "statemachine/core/history.h"

#include "absl/strings/str_cat.h"
#include "statemachine/json_text.h"

namespace stepflow::sm {

using Shape = TypedEventDetails::Shape;

namespace {

// Texts shorter than this are escaped every time (comparing them would cost as much).
constexpr std::size_t kMemoizeFrom = 64;

void AppendSharedText(std::string& out, const SharedText& text, EscapedTextMemo* memo) {
  if (memo == nullptr || text->size() < kMemoizeFrom) {
    AppendJsonString(out, *text);
    return;
  }
  if (memo->text != text) {
    memo->text = text;
    memo->raw.clear();
    memo->escaped.clear();
    AppendJsonString(memo->escaped, *text);
  }
  out.append(memo->escaped);
}

// AppendAwsJson(details), byte for byte, with the long strings escaped through `memo`.
void AppendPlainDetails(std::string& out, const boost::json::object& details, EscapedTextMemo* memo) {
  if (memo == nullptr) {
    AppendAwsJson(out, details);
    return;
  }
  out.push_back('{');
  bool first = true;
  for (const auto& member : details) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    AppendJsonString(out, member.key());
    out.push_back(':');
    const boost::json::string* text = member.value().if_string();
    if (text == nullptr || text->size() < kMemoizeFrom) {
      AppendAwsJson(out, member.value());
      continue;
    }
    if (memo->text != nullptr || std::string_view(*text) != memo->raw) {
      memo->text.reset();
      memo->raw.assign(text->data(), text->size());
      memo->escaped.clear();
      AppendJsonString(memo->escaped, memo->raw);
    }
    out.append(memo->escaped);
  }
  out.push_back('}');
}

}  // namespace

TypedEventDetails ExecutionStartedDetails(std::string input_text, std::string_view role_arn,
                                          std::string_view alias_arn, std::string_view version_arn,
                                          SharedText* shared_input) {
  // One block owns the input's text (which the event's `text` and the first state's events point at) and the
  // details after it (which `name` points at).
  struct Texts {
    std::string input;
    std::string rest;
  };
  auto texts = std::make_shared<Texts>();
  texts->input = std::move(input_text);
  std::string& rest = texts->rest;
  rest.reserve(64 + role_arn.size() + alias_arn.size() + version_arn.size());
  rest += ",\"roleArn\":";
  AppendJsonString(rest, role_arn);
  if (!alias_arn.empty()) {
    rest += ",\"stateMachineAliasArn\":";
    AppendJsonString(rest, alias_arn);
  }
  if (!version_arn.empty()) {
    rest += ",\"stateMachineVersionArn\":";
    AppendJsonString(rest, version_arn);
  }
  rest.push_back('}');
  *shared_input = SharedText(texts, &texts->input);
  return TypedEventDetails{Shape::kExecutionStarted,
                           "ExecutionStarted",
                           "executionStartedEventDetails",
                           texts->rest,
                           *shared_input,
                           static_cast<std::int64_t>(role_arn.size() + alias_arn.size() + version_arn.size())};
}

void AppendEventDetails(std::string& out, const HistoryEvent& e, EscapedTextMemo* memo) {
  const TypedEventDetails& t = e.typed;
  switch (t.shape) {
    case Shape::kNone:
      AppendPlainDetails(out, e.details, memo);
      return;
    case Shape::kStateEntered:
    case Shape::kStateExited:
      out += "{\"name\":";
      AppendJsonString(out, t.name);
      out += t.shape == Shape::kStateEntered ? ",\"input\":" : ",\"output\":";
      AppendSharedText(out, t.text, memo);
      out += t.shape == Shape::kStateEntered ? ",\"inputDetails\":{\"truncated\":false}}"
                                             : ",\"outputDetails\":{\"truncated\":false}}";
      return;
    case Shape::kExecutionSucceeded:
      out += "{\"output\":";
      AppendSharedText(out, t.text, memo);
      out += ",\"outputDetails\":{\"truncated\":false}}";
      return;
    case Shape::kMapIteration:
      out += "{\"name\":";
      AppendJsonString(out, t.name);
      absl::StrAppend(&out, ",\"index\":", t.index, "}");
      return;
    case Shape::kExecutionStarted:
      out += "{\"input\":";
      AppendSharedText(out, t.text, memo);
      out += ",\"inputDetails\":{\"truncated\":false}";
      out += t.name;
      return;
    case Shape::kTaskStarted:
      out += t.name;
      out.push_back('}');
      return;
    case Shape::kTaskSucceeded:
      out += t.name;
      out += ",\"output\":";
      AppendSharedText(out, t.text, memo);
      out += ",\"outputDetails\":{\"truncated\":false}}";
      return;
    case Shape::kTaskScheduled:
      out += t.name;
      out += ",\"region\":";
      AppendJsonString(out, kTaskEventRegion);
      out += ",\"parameters\":";
      AppendSharedText(out, t.text, memo);
      if (t.timeout_seconds != 0) {
        absl::StrAppend(&out, ",\"timeoutInSeconds\":", t.timeout_seconds);
      }
      if (t.heartbeat_seconds != 0) {
        absl::StrAppend(&out, ",\"heartbeatInSeconds\":", t.heartbeat_seconds);
      }
      out.push_back('}');
      return;
  }
}

std::size_t EventDetailsStringBytes(const HistoryEvent& e) {
  const TypedEventDetails& t = e.typed;
  switch (t.shape) {
    case Shape::kNone:
      break;
    case Shape::kStateEntered:
    case Shape::kStateExited:
      return t.name.size() + t.text->size();
    case Shape::kExecutionSucceeded:
      return t.text->size();
    case Shape::kMapIteration:
      return t.name.size();
    case Shape::kExecutionStarted:
      return t.text->size() + static_cast<std::size_t>(t.index);
    case Shape::kTaskStarted:
      return static_cast<std::size_t>(t.index);
    case Shape::kTaskSucceeded:
      return static_cast<std::size_t>(t.index) + t.text->size();
    case Shape::kTaskScheduled:
      return static_cast<std::size_t>(t.index) + kTaskEventRegion.size() + t.text->size();
  }
  std::size_t bytes = 0;
  for (const auto& field : e.details) {
    if (const boost::json::string* text = field.value().if_string()) {
      bytes += text->size();
    }
  }
  return bytes;
}

void MaterializeEvent(HistoryEvent& e) {
  if (!e.is_typed()) {
    return;
  }
  TypedEventDetails t = std::move(e.typed);
  e.typed = TypedEventDetails();
  e.type = std::string(t.type);
  e.details_key = std::string(t.details_key);
  boost::json::object& d = e.details;
  d = boost::json::object();
  const boost::json::object not_truncated{{"truncated", false}};
  switch (t.shape) {
    case Shape::kNone:
      return;
    case Shape::kStateEntered:
      d.reserve(3);
      d.emplace("name", boost::json::string_view(t.name.data(), t.name.size()));
      d.emplace("input", *t.text);
      d.emplace("inputDetails", not_truncated);
      return;
    case Shape::kStateExited:
      d.reserve(3);
      d.emplace("name", boost::json::string_view(t.name.data(), t.name.size()));
      d.emplace("output", *t.text);
      d.emplace("outputDetails", not_truncated);
      return;
    case Shape::kExecutionSucceeded:
      d.reserve(2);
      d.emplace("output", *t.text);
      d.emplace("outputDetails", not_truncated);
      return;
    case Shape::kMapIteration:
      d.reserve(2);
      d.emplace("name", boost::json::string_view(t.name.data(), t.name.size()));
      d.emplace("index", t.index);
      return;
    case Shape::kExecutionStarted: {
      d.reserve(5);
      d.emplace("input", *t.text);
      d.emplace("inputDetails", not_truncated);
      // `name` is `,"roleArn":..}`, written by ExecutionStartedDetails: the members after inputDetails.
      std::string rest(t.name);
      rest.front() = '{';
      boost::json::value members = boost::json::parse(rest);
      for (auto& member : members.as_object()) {
        d.emplace(member.key(), std::move(member.value()));
      }
      return;
    }
    case Shape::kTaskStarted:
    case Shape::kTaskSucceeded:
    case Shape::kTaskScheduled: {
      // `name` opens the details with resourceType and resource (TaskResource::details_prefix).
      std::string opening(t.name);
      opening.push_back('}');
      d = boost::json::parse(opening).as_object();
      if (t.shape == Shape::kTaskSucceeded) {
        d.reserve(4);
        d.emplace("output", *t.text);
        d.emplace("outputDetails", not_truncated);
      } else if (t.shape == Shape::kTaskScheduled) {
        d.reserve(6);
        d.emplace("region", boost::json::string_view(kTaskEventRegion.data(), kTaskEventRegion.size()));
        d.emplace("parameters", *t.text);
        if (t.timeout_seconds != 0) {
          d.emplace("timeoutInSeconds", static_cast<std::int64_t>(t.timeout_seconds));
        }
        if (t.heartbeat_seconds != 0) {
          d.emplace("heartbeatInSeconds", static_cast<std::int64_t>(t.heartbeat_seconds));
        }
      }
      return;
    }
  }
}

boost::json::object HistoryEventToJson(const HistoryEvent& e) {
  HistoryEvent plain = e;
  MaterializeEvent(plain);
  boost::json::object o;
  o["id"] = plain.id;
  o["previousEventId"] = plain.previous_event_id;
  o["timestamp"] = common::FormatIso8601(plain.timestamp);
  o["type"] = plain.type;
  if (!plain.details_key.empty()) {
    o[plain.details_key] = plain.details;
  }
  return o;
}

namespace {

// Appends `s` as boost::json::serialize quotes it. Event types and detail keys never need an escape, so
// the serializer (which escapes only '"', '\\' and control characters) is used only when one does.
void AppendQuoted(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      out += boost::json::serialize(boost::json::string_view(s));
      return;
    }
  }
  out.push_back('"');
  out.append(s);
  out.push_back('"');
}

// Appends boost::json::serialize(o) without the intermediate string.
void AppendSerialized(std::string& out, const boost::json::object& o) {
  constexpr std::size_t kChunk = 512;
  boost::json::serializer sr;
  sr.reset(&o);
  while (!sr.done()) {
    const std::size_t used = out.size();
    out.resize(used + kChunk);
    out.resize(used + sr.read(out.data() + used, kChunk).size());
  }
}

}  // namespace

std::string SerializeHistoryEvent(const HistoryEvent& typed_or_plain) {
  if (typed_or_plain.is_typed()) {
    HistoryEvent plain = typed_or_plain;
    MaterializeEvent(plain);
    return SerializeHistoryEvent(plain);
  }
  const HistoryEvent& e = typed_or_plain;
  std::string out;
  absl::StrAppend(&out, "{\"id\":", e.id, ",\"previousEventId\":", e.previous_event_id, ",\"timestamp\":");
  // The events of one decision share their timestamp: format it once per distinct value.
  thread_local common::EpochMillis last_timestamp = 0;
  thread_local std::string last_text;
  if (last_text.empty() || e.timestamp != last_timestamp) {
    last_text = common::FormatIso8601(e.timestamp);
    last_timestamp = e.timestamp;
  }
  AppendQuoted(out, last_text);
  out += ",\"type\":";
  AppendQuoted(out, e.type);
  if (!e.details_key.empty()) {
    out.push_back(',');
    AppendQuoted(out, e.details_key);
    out.push_back(':');
    AppendSerialized(out, e.details);
  }
  out.push_back('}');
  return out;
}

}  // namespace stepflow::sm
