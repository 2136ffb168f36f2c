// An in-memory Redis 7 server for the migration simulator: strings and hashes with absolute
// expiry on a virtual clock, the commands the simulated clients send, and the semantics of
// MIGRATE (atomic per key on the source, BUSYKEY without REPLACE, NOKEY) and of the engine's
// scripts. A restart loses nothing (appendfsync always). Used by tests/migration only.
// Thread safety: single-threaded.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proxy/migration/backend.h"

namespace rl::migration::sim {

struct Value {
  bool is_hash = false;
  std::string str;
  std::map<std::string, std::string> hash;
  std::optional<uint64_t> expire_at;  // absolute virtual ms
};

class FakeServer {
 public:
  explicit FakeServer(const uint64_t* now) : now_(now) {}

  // Client commands: GET, SET k v [PX ms], HSET k f v..., DEL k..., PTTL k, HLEN k.
  Reply Execute(const Command& c);
  ScanPage Scan(uint64_t cursor, uint32_t count);
  bool Exists(const std::string& key);
  bool Erase(const std::string& key);
  std::optional<Value> Take(const std::string& key);
  const Value* Find(const std::string& key);
  void Put(const std::string& key, Value v) {
    Log("put", key);
    data_[key] = std::move(v);
  }
  Chunk ReadChunk(const std::string& key, uint64_t cursor, uint32_t count);
  Result<Done> AppendChunk(const std::string& staging, const std::vector<std::string>& elements);
  int64_t Pttl(const std::string& key);
  InstallOutcome InstallStaged(const std::string& staging, const std::string& key, int64_t pttl);
  bool FinishInFlight(const std::string& key, const std::string& token, bool delete_key);

  // Every live key (expired ones dropped), for the checker.
  std::map<std::string, Value> Snapshot();

  bool up = true;
  // When set, every change of a key is appended as one line (for replaying a failing seed).
  std::vector<std::string>* log = nullptr;
  ServerId id = 0;

 private:
  void ExpireIfDue(const std::string& key);
  void Log(const std::string& what, const std::string& key);
  const uint64_t* now_;
  std::map<std::string, Value> data_;
};

// SCAN's cursor order: a key's place on a 62-bit hash circle (never 0).
uint64_t ScanHash(const std::string& key);

}  // namespace rl::migration::sim
