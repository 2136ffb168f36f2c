// RAFT.HELLO / RAFT.AUTH: nonce and proof (see peer_auth.h).
#include "raft/node/peer_auth.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>

namespace rl::raft {

namespace {

constexpr size_t kNonceBytes = 16;
constexpr size_t kDigestBytes = 32;
constexpr char kHex[] = "0123456789abcdef";

std::string Hex(const unsigned char* bytes, size_t n) {
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::array<unsigned char, kDigestBytes> Digest(std::string_view secret, std::string_view nonce,
                                               NodeId from, uint64_t cluster_id) {
  std::string text = fmt::format("{} {} {}", nonce, from, cluster_id);
  std::array<unsigned char, kDigestBytes> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data(), &length);
  return digest;
}

}  // namespace

std::expected<std::string, std::string> NewNonce() {
  unsigned char bytes[kNonceBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return std::unexpected("RAND_bytes failed");
  return Hex(bytes, sizeof bytes);
}

std::string AuthProof(std::string_view secret, std::string_view nonce, NodeId from,
                      uint64_t cluster_id) {
  auto digest = Digest(secret, nonce, from, cluster_id);
  return Hex(digest.data(), digest.size());
}

bool CheckAuthProof(std::string_view secret, std::string_view nonce, NodeId from,
                    uint64_t cluster_id, std::string_view proof) {
  if (proof.size() != 2 * kDigestBytes) return false;
  std::array<unsigned char, kDigestBytes> given{};
  for (size_t i = 0; i < kDigestBytes; ++i) {
    int hi = HexDigit(proof[2 * i]);
    int lo = HexDigit(proof[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    given[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  auto expected = Digest(secret, nonce, from, cluster_id);
  return CRYPTO_memcmp(given.data(), expected.data(), kDigestBytes) == 0;
}

}  // namespace rl::raft
