#pragma once
// History events with AWS Step Functions' event type names and detail fields, so that
// `stepflow run --history` and GetExecutionHistory read like AWS's.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/clock.h"

namespace stepflow::sm {

// A document's compact JSON text (a state's input or output), shared by the events that carry it and the
// frame that goes on with it instead of copied into each.
using SharedText = std::shared_ptr<const std::string>;

// The details of the interpreter's frequent events (the execution started or succeeded, a state entered or
// exited, a Map iteration started or succeeded, a Task* task scheduled, started or succeeded), kept as what they
// are made of instead of as a JSON object: AWS's JSON is written only when the event is read (AppendEventDetails,
// MaterializeEvent). Every field points at storage that outlives the event: `type` and `details_key` at static
// names, `name` at the state's name or TaskResource::details_prefix in its StateMachine (whoever keeps a typed
// event beyond its Execution keeps the machine too) or, for ExecutionStarted, into the storage `text` owns
// (ExecutionStartedDetails).
struct TypedEventDetails {
  enum class Shape : std::uint8_t {
    kNone,                // not typed: HistoryEvent::type, details_key and details are the event
    kStateEntered,        // {"name": name, "input": text, "inputDetails": {"truncated": false}}
    kStateExited,         // {"name": name, "output": text, "outputDetails": {"truncated": false}}
    kExecutionSucceeded,  // {"output": text, "outputDetails": {"truncated": false}}
    kMapIteration,        // {"name": name, "index": index}
    // {"input": text, "inputDetails": {"truncated": false}` then `name`: the rest of the details as JSON text,
    // `,"roleArn":..}`; `index` is the bytes of the strings in that rest (EventDetailsStringBytes).
    kExecutionStarted,
    // A Task* event of the task family: `name` is the JSON text `{"resourceType":..,"resource":..` that opens
    // its details (TaskResource::details_prefix) and `index` the bytes of those two strings.
    kTaskStarted,    // `name` then `}`
    kTaskSucceeded,  // `name` then `,"output": text, "outputDetails": {"truncated": false}}`
    // `name` then `,"region": kTaskEventRegion, "parameters": text`, `"timeoutInSeconds": timeout_seconds` and
    // `"heartbeatInSeconds": heartbeat_seconds` when not 0, then `}`.
    kTaskScheduled,
  };
  Shape shape = Shape::kNone;
  std::string_view type;
  std::string_view details_key;
  std::string_view name;
  SharedText text;
  std::int64_t index = 0;
  // kTaskScheduled: the attempt's TimeoutSeconds and HeartbeatSeconds, 0 when it has none.
  std::int32_t timeout_seconds = 0;
  std::int32_t heartbeat_seconds = 0;
};

// The region a TaskScheduled event of the task family names (AWS's own, as recorded).
inline constexpr std::string_view kTaskEventRegion = "us-east-1";

struct HistoryEvent {
  std::int64_t id = 0;                 // 1, 2, 3 ... within one execution
  std::int64_t previous_event_id = 0;  // the event this one follows from (0 for the first)
  common::EpochMillis timestamp = 0;
  std::string type;                    // "ExecutionStarted", "PassStateEntered", ...
  std::string details_key;             // "executionStartedEventDetails", ... (empty: no details)
  boost::json::object details;
  // Set (shape != kNone) only on the events of an execution that keeps typed events
  // (Execution::KeepTypedEvents): then `type`, `details_key` and `details` are empty and this is the event.
  TypedEventDetails typed;

  bool is_typed() const { return typed.shape != TypedEventDetails::Shape::kNone; }
  // The event's type and details key, typed or not.
  std::string_view type_name() const { return is_typed() ? typed.type : std::string_view(type); }
  std::string_view details_key_name() const { return is_typed() ? typed.details_key : std::string_view(details_key); }
};

// Consecutive events often carry the same document (a state's output is the next state's input): a writer of
// many events keeps the last long text it escaped here, so that it is escaped once. Not thread-safe.
struct EscapedTextMemo {
  SharedText text;      // the typed events' shared text last escaped (compared by identity), or
  std::string raw;      // a plain event's string last escaped (compared by value)
  std::string escaped;  // its quoted, escaped form
};

// The typed details of an ExecutionStarted event: {"input": input_text, "inputDetails": {"truncated": false},
// "roleArn": role_arn} and "stateMachineAliasArn" / "stateMachineVersionArn" when not empty, in that order.
// `*shared_input` is set to the input text the event holds, for the events that carry the same document.
TypedEventDetails ExecutionStartedDetails(std::string input_text, std::string_view role_arn,
                                          std::string_view alias_arn, std::string_view version_arn,
                                          SharedText* shared_input);

// Appends the event's details as AWS's compact JSON text (sm::AppendAwsJson of the details object), typed or
// not; `memo` (optional) saves escaping the same long text again. REQUIRES: !details_key_name().empty().
void AppendEventDetails(std::string& out, const HistoryEvent& e, EscapedTextMemo* memo = nullptr);
// The bytes of the details' strings (the state's name, the document's text): what makes events large, for
// the limits on a decision's and a history row's size.
std::size_t EventDetailsStringBytes(const HistoryEvent& e);
// Turns a typed event into the plain form (type, details_key and details filled, `typed` cleared); a plain
// event is left as it is. The details are the JSON AppendEventDetails writes.
void MaterializeEvent(HistoryEvent& e);

// AWS's JSON form: {"id":..,"previousEventId":..,"timestamp":"..","type":"..", "<details_key>":{..}}.
boost::json::object HistoryEventToJson(const HistoryEvent& e);

// The text boost::json::serialize(HistoryEventToJson(e)) gives, byte for byte, without building the object
// (which deep-copies `details`): the engine stores this text for every event.
std::string SerializeHistoryEvent(const HistoryEvent& e);

}  // namespace stepflow::sm
