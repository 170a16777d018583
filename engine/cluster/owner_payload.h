#pragma once
// The status payload by which the engine (cluster mode) names the node that serves a call: an Unavailable
// status carrying it means "not served here; served at this address". The API layer forwards such calls
// (engine/api/forwarding.h).

#include <string_view>

namespace stepflow::engine::cluster {

// Payload type URL; its value is the owner's advertised gRPC address (host:port).
inline constexpr char kOwnerAddressPayload[] = "type.stepflow/owner-address";

}  // namespace stepflow::engine::cluster
