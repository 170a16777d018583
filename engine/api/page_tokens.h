#pragma once
// Page tokens on the wire are sealed (issue 9, section 4: every page token is checked for every list): the
// engine's token, followed by an HMAC-SHA256 over the listing's name, the request's scope (its filters, or
// the execution ARN and order of a history) and that token. The key is the engine's PageTokenKey(), derived
// from the key kept in the store, so a token stays valid across a server restart and is refused by a server
// on another store; an engine without a store key gets a key drawn at random once per process. A forged
// token, a token of another listing or of the same listing with other filters is refused with
// InvalidArgument (InvalidToken) before the engine sees it.
//
// Thread-safety: both functions may be called from any thread.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/engine.h"

namespace stepflow::api {

// "" for "" (no more pages).
std::string SealPageToken(const engine::Engine& engine, std::string_view listing, std::string_view scope,
                          const std::string& engine_token);
// The engine's token ("" for ""), or InvalidArgument "InvalidToken: ...".
absl::StatusOr<std::string> OpenPageToken(const engine::Engine& engine, std::string_view listing,
                                          std::string_view scope, const std::string& token);

}  // namespace stepflow::api
