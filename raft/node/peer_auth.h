// The peer port's challenge-response authentication (RAFT.HELLO / RAFT.AUTH): the server hands
// out a random nonce, the client proves it knows the cluster's shared secret with
// HMAC-SHA256(secret, nonce + " " + from_id + " " + cluster_id). Used by PeerServer (checks) and
// PeerLinks (answers). Thread safety: pure functions (NewNonce uses OpenSSL's thread-safe RNG).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "raft/types.h"

namespace rl::raft {

// The shortest shared secret a cluster accepts (conf/ checks the same bound).
constexpr size_t kMinPeerSecretLength = 16;

// 32 lower-case hex characters from 16 bytes of RAND_bytes. On failure of the RNG returns an
// error text (the caller refuses the connection rather than hand out a guessable nonce).
std::expected<std::string, std::string> NewNonce();

// Lower-case hex of HMAC-SHA256(secret, nonce + " " + from + " " + cluster_id): what the client
// sends as RAFT.AUTH's third argument.
std::string AuthProof(std::string_view secret, std::string_view nonce, NodeId from,
                      uint64_t cluster_id);

// Whether `proof` (untrusted: any bytes) is the proof for these values, compared in constant
// time over the 32 digest bytes. A proof that is not 64 hex digits is false.
bool CheckAuthProof(std::string_view secret, std::string_view nonce, NodeId from,
                    uint64_t cluster_id, std::string_view proof);

}  // namespace rl::raft
