// The Redis operations the migration engine needs, as an asynchronous interface with no I/O of
// its own: the host implements it over pipelined RESP connections, tests over fake in-memory
// servers. Used by the router's plan executor and the background migrator.
// Thread safety: an implementation is driven from one loop; callbacks run on that loop.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rl::migration {

// A stable server id (never a vector index), as the host's topology names it.
using ServerId = uint32_t;

// Why an operation has no answer. A connection error or a timeout means "unknown", never
// "key absent": an operation that fails this way may or may not have run on the server.
enum class ErrorKind : uint8_t { kConnection, kTimeout, kServer, kTryAgain };

struct Error {
  ErrorKind kind = ErrorKind::kConnection;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;
template <class T>
using Callback = std::function<void(Result<T>)>;

struct Done {};

// One client command on keys of one server, argv as sent ("SET", "k", "v", "PX", "100").
struct Command {
  std::vector<std::string> argv;
};

// A reply value as much as the engine needs to see of it; the host forwards real replies.
struct Reply {
  enum class Kind : uint8_t { kNil, kStatus, kString, kInteger, kArray, kError };
  Kind kind = Kind::kNil;
  std::string text;                   // kStatus, kString, kError
  int64_t integer = 0;                // kInteger
  std::vector<std::string> elements;  // kArray (flat, nil elements as "")
  // The reply's exact RESP bytes when it came from a server (the host forwards those; empty
  // in the simulator). Not compared by ==.
  std::string raw;

  static Reply Nil() { return {}; }
  static Reply Status(std::string s) { return {Kind::kStatus, std::move(s), 0, {}, {}}; }
  static Reply String(std::string s) { return {Kind::kString, std::move(s), 0, {}, {}}; }
  static Reply Integer(int64_t n) { return {Kind::kInteger, {}, n, {}, {}}; }
  static Reply Err(std::string s) { return {Kind::kError, std::move(s), 0, {}, {}}; }
  friend bool operator==(const Reply& a, const Reply& b) {
    return a.kind == b.kind && a.text == b.text && a.integer == b.integer &&
           a.elements == b.elements;
  }
};

enum class KeyType : uint8_t { kNone, kString, kHash, kSet, kZset, kList, kOther };

// One SCAN result with what the migrator needs to choose how to move it (TYPE, and the element
// count and MEMORY USAGE the host's implementation pipelines after SCAN).
struct ScannedKey {
  std::string key;
  KeyType type = KeyType::kString;
  uint64_t elements = 1;  // HLEN/SCARD/ZCARD/LLEN; 1 for a string
  uint64_t bytes = 0;     // MEMORY USAGE, for the bytes/s throttle
};

struct ScanPage {
  uint64_t next_cursor = 0;  // 0: the scan is complete
  std::vector<ScannedKey> keys;
};

// MIGRATE's answers. kIoErr covers "-IOERR" and every other error the target sent back
// (ERR Target instance replied with error ...) except BUSYKEY: with it the key may have been
// restored on the target while it stays on the source.
enum class MigrateOutcome : uint8_t { kOk, kNoKey, kBusyKey, kIoErr };

// The in-flight gate: kInFlight when the key is being moved in chunks (its marker exists on
// the source), in which case the caller retries later.
enum class GateOutcome : uint8_t { kDone, kAbsent, kInFlight };

// A piece of a big value: flat elements (field, value, field, value... for a hash; member,
// score... for a zset; members for a set; elements in order for a list).
struct Chunk {
  bool key_exists = true;
  uint64_t next_cursor = 0;  // 0: the last chunk
  std::vector<std::string> elements;
};

enum class InstallOutcome : uint8_t { kInstalled, kKeyExists, kNoStaging };

// Names of the engine's own keys on the servers. They never collide with a client key that
// does not start with the reserved prefix, which the host refuses.
inline constexpr std::string_view kInternalPrefix = "__rl_mig:";
std::string MarkerKey(std::string_view key);
std::string StagingKey(std::string_view token, std::string_view key);
bool IsInternalKey(std::string_view key);
// The client key a marker names, or nullopt when `key` is not a marker.
std::optional<std::string> KeyOfMarker(std::string_view key);

// Every callback runs later on the loop, never inside the call that was given it (the engine's
// continuations rely on that to keep their stacks flat), exactly once.
class Backend {
 public:
  virtual ~Backend() = default;

  // SCAN cursor COUNT count, with each key's type, size and memory.
  virtual void Scan(ServerId server, uint64_t cursor, uint32_t count, Callback<ScanPage> done) = 0;
  // MIGRATE to-host to-port "" 0 timeout [REPLACE] KEYS k... on `from`. Atomic per key on the
  // source: a key is deleted there only once the target restored it.
  virtual void Migrate(ServerId from, ServerId to, std::vector<std::string> keys, bool replace,
                       Callback<MigrateOutcome> done) = 0;
  // Runs `command` atomically with an existence check of `key` (one script): nullopt when the
  // key does not exist (the command did not run), else the command's reply.
  virtual void RunIfExists(ServerId server, std::string key, Command command,
                           Callback<std::optional<Reply>> done) = 0;
  virtual void Run(ServerId server, Command command, Callback<Reply> done) = 0;
  // One script: kInFlight when MarkerKey(key) exists, else kDone.
  virtual void CheckGate(ServerId server, std::string key, Callback<GateOutcome> done) = 0;
  // One script: kInFlight when the marker exists, else DEL key: kDone (it existed) or kAbsent.
  virtual void GatedDelete(ServerId server, std::string key, Callback<GateOutcome> done) = 0;
  // UNLINK key: true when it existed.
  virtual void Delete(ServerId server, std::string key, Callback<bool> done) = 0;
  virtual void Exists(ServerId server, std::string key, Callback<bool> done) = 0;

  // Chunked moves (see migrator.h for the protocol).
  // One script: if key exists, SET MarkerKey(key) token and true; else false.
  virtual void MarkInFlight(ServerId server, std::string key, std::string token,
                            Callback<bool> done) = 0;
  virtual void GetMarker(ServerId server, std::string key,
                         Callback<std::optional<std::string>> done) = 0;
  // HSCAN/SSCAN/ZSCAN cursor COUNT n, or LRANGE from index `cursor` for a list.
  virtual void ReadChunk(ServerId server, std::string key, KeyType type, uint64_t cursor,
                         uint32_t count, Callback<Chunk> done) = 0;
  // HSET/SADD/ZADD/RPUSH staging elements...
  virtual void AppendChunk(ServerId server, std::string staging, KeyType type,
                           std::vector<std::string> elements, Callback<Done> done) = 0;
  // PTTL key: -2 absent, -1 no expiry.
  virtual void Pttl(ServerId server, std::string key, Callback<int64_t> done) = 0;
  // One script: if key exists kKeyExists; if staging is absent kNoStaging; else RENAME staging
  // key, PEXPIRE key pttl when pttl >= 0, kInstalled.
  virtual void InstallStaged(ServerId server, std::string staging, std::string key, int64_t pttl,
                             Callback<InstallOutcome> done) = 0;
  // One script: if MarkerKey(key) holds token, DEL the marker and, when delete_key, the key;
  // true when the marker held token.
  virtual void FinishInFlight(ServerId server, std::string key, std::string token, bool delete_key,
                              Callback<bool> done) = 0;
};

// Deliberate mistakes for the simulator's self-test (tests/migration): each must make its
// checker fail. The host always uses kNone.
enum class PlantedBug : uint8_t {
  kNone,
  kIoErrAsAbsent,      // a write takes MIGRATE's IOERR for NOKEY and writes on the target
  kDeleteSourceOnly,   // a delete removes the key from the source only
  kReadSourceOnly,     // a read asks the source only (stale once the key moved)
  kReadTargetFirst,    // a read asks the target, then the source
  kInstallWithoutTtl,  // a big value copied in chunks loses its TTL
  kTrustBatchIoErr,    // the migrator counts a batch that failed with IOERR as moved, and ends
                       // without a verify pass
};

// Time for retries and throttling: virtual in tests, the loop's timers in the host.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t NowMs() const = 0;
  virtual void After(uint64_t delay_ms, std::function<void()> fn) = 0;
};

}  // namespace rl::migration
