#pragma once
// Version-2 values (storage/FORMAT.md): the format byte, then a serialized protobuf message. Private to the
// engine's record codecs; the message types come from proto/stepflow/storage/v1/records.proto.

#include <string>
#include <string_view>

#include "engine/records.h"

namespace stepflow::engine {

template <typename Message>
std::string EncodeProtoValue(const Message& m) {
  std::string out(1, kValueFormatV2);
  m.AppendToString(&out);
  return out;
}

// False when `value` is not a version-2 value or its message does not parse.
template <typename Message>
bool DecodeProtoValue(std::string_view value, Message& m) {
  return ValueFormatOf(value) == ValueFormat::kProtobufV2 &&
         m.ParseFromArray(value.data() + 1, static_cast<int>(value.size() - 1));
}

}  // namespace stepflow::engine
