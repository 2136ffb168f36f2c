// ringleader's configuration: a nutcracker (twemproxy) YAML file, plus ringleader's own reserved
// `ringleader:` section, parsed into plain, validated structs. conf/ reads the file and nothing
// else (no sockets, no name resolution); proxy/ turns these structs into listeners, backends and
// rings.
// Thread safety: plain values, immutable after Load().
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "ring/ring.h"

namespace rl::conf {

// A TCP host:port, or a unix socket path (with optional octal permissions for listeners).
struct Address {
  enum class Kind : uint8_t { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;                     // kTcp: as written (IPv4, bare IPv6 or a name)
  uint16_t port = 0;                    // kTcp
  std::string path;                     // kUnix
  std::optional<uint32_t> permissions;  // kUnix listeners only: "/tmp/x.sock 0666"
  std::string ToString() const;         // "host:port" or the path

  // Same endpoint: kind, host (as written) and port, or path; permissions are not compared.
  bool SameEndpoint(const Address& other) const;
};

struct Server {
  Address address;
  uint32_t weight = 1;
  std::string name;      // as written in the YAML, empty when absent
  std::string identity;  // the string placed on the ring (name, else twemproxy's rule)
  int line = 0;          // 1-based line in the YAML, for messages
  int column = 0;        // 1-based column of the entry's text
};

// One pool: every nutcracker key with nutcracker's defaults, plus ringleader's own keys.
struct Pool {
  std::string name;
  Address listen;
  ring::HashKind hash = ring::HashKind::kFnv1a_64;
  std::string hash_tag;  // "" or exactly two bytes
  ring::Distribution distribution = ring::Distribution::kKetama;
  // none = wait forever (nutcracker's default). `timeout: 0` also means none, as in nutcracker,
  // which arms a request timer only for a timeout > 0.
  std::optional<std::chrono::milliseconds> timeout;
  int backlog = 512;
  bool preconnect = false;
  bool redis = true;  // nutcracker defaults to memcache; ringleader serves Redis only
  std::string redis_auth;
  int redis_db = 0;
  int server_connections = 1;
  bool auto_eject_hosts = false;
  std::chrono::milliseconds server_retry_timeout{30000};
  int server_failure_limit = 2;
  bool tcpkeepalive = false;
  bool reuseport = false;
  // 0 = unlimited. nutcracker 0.5.0 parses this key but then ignores it (always unlimited).
  uint32_t client_connections = 0;
  std::vector<Server> servers;

  // ringleader's own keys (not in nutcracker).
  int workers = 1;
  std::string client_auth;  // password clients must AUTH with; empty = redis_auth's (see
                            // ClientPassword)
  // Serve the commands that act on every key of every server (FLUSHDB, FLUSHALL); refused
  // with an error naming this key otherwise.
  bool admin_commands = false;
  // Closes a client idle (nothing to answer, nothing read) for longer than this, and one whose
  // request has been arriving for longer (slowloris); subscribed and blocked clients are exempt,
  // as from Redis's `timeout`. none = never (the default).
  std::optional<std::chrono::milliseconds> client_timeout;

  // Where the pool and its listen value were written (1-based), for messages from later checks
  // such as the proxy's name resolution of the listen host.
  int line = 0;
  int column = 0;
  int listen_line = 0;
  int listen_column = 0;

  // The ring options this pool's keys are placed with.
  ring::RingOptions RingOptions() const;
  // The password clients must AUTH with (empty: none): client_auth, or else redis_auth, as
  // nutcracker makes every client AUTH with the pool's redis_auth before anything else.
  const std::string& ClientPassword() const {
    return client_auth.empty() ? redis_auth : client_auth;
  }
  // members in server order, as ring::Ring::Build wants them.
  std::vector<ring::Member> RingMembers() const;
};

// One initial member of the Raft cluster: `id@host:port` in `cluster: members:`.
struct ClusterMember {
  uint64_t id = 0;  // 1..2^63
  Address address;  // kTcp: where its peers reach it
};

// `ringleader: cluster:` — this process is one node of an embedded Raft group (raft/node/).
// Every field is validated by conf/; conf/README.md gives each key's meaning and range.
struct ClusterSettings {
  uint64_t node_id = 0;                              // 1..2^63
  Address peer_listen;                               // kTcp; equals this node's entry in `members`
  std::vector<ClusterMember> members;                // in file order; ids and addresses distinct
  std::string data_dir;                              // as written; required
  std::chrono::milliseconds election_timeout{1000};  // >= 3 * heartbeat
  std::chrono::milliseconds heartbeat{100};
  std::string secret;  // >= 16 bytes: `secret`, or the contents of `secret_file`
  // A node added to a running cluster: never bootstraps, waits for the leader to add it.
  bool join = false;
  int line = 0;  // where `cluster:` was written (1-based), for later messages
  int column = 0;
};

// `ringleader: locks:` — the lock service (lock/): the Redis masters it locks on and where the
// standalone token file lives. conf/README.md gives each key's meaning and range.
struct LockSettings {
  // As written, or (no `masters:`) the servers of the pool named by `pool:`, else of the first
  // pool: filled in once every pool is read. Never empty in a loaded Config.
  std::vector<Address> masters;
  std::string pool;            // `pool:` as written; empty when absent
  std::string password;        // AUTH on the masters: the pool's redis_auth when taken from a pool
  std::string data_dir;        // required: the token file (lock_tokens) lives there
  double drift_factor = 0.01;  // 0 <= f < 1: validity loses ttl * f + 2 ms
  std::chrono::milliseconds request_timeout{200};  // per master reply; 1..600000 ms
  int line = 0;  // where `locks:` was written (1-based), for later messages
  int column = 0;
  int pool_line = 0;  // where `pool:`'s value was written
  int pool_column = 0;
};

// ringleader's own settings: the reserved top-level `ringleader:` section, for what belongs to
// the process rather than to one pool. Every field holds its default when the section or its key
// is absent; conf/README.md gives each key's meaning and range. The defaults equal
// proxy::ProxyOptions' (tests/proxy/process_settings_test.cc checks it).
struct RingleaderSettings {
  // Bytes of replies a client may leave unread before it is closed. 1..2147483647.
  uint64_t client_output_limit = 256ull << 20;
  // Requests one client may have in flight before it is not read from. 2..2147483647.
  uint32_t client_max_inflight = 16384;
  // MiB of buffers all clients may hold together before the largest are evicted (Redis's
  // maxmemory-clients); 0: no limit; absent: half of what the process may use (the machine's
  // memory, its cgroup's limit or its address-space limit, whichever is least).
  std::optional<uint64_t> client_memory_limit_mb;
  // On SIGTERM/SIGINT, how long in-flight requests may take. 0..2147483647 ms.
  std::chrono::milliseconds shutdown_grace{5000};
  // Back-off after a failed connect to a server: doubles from min to max. 1..2147483647 ms each,
  // min <= max.
  std::chrono::milliseconds reconnect_backoff_min{5};
  std::chrono::milliseconds reconnect_backoff_max{25};
  // Request limits, Redis's names and defaults. Bytes of one argument: 1048576..2147483647.
  uint64_t proto_max_bulk_len = 512ull << 20;
  // Arguments of one request: 1024..2147483647 (ringleader's name: Redis has no setting).
  uint32_t proto_max_multibulk_len = 1024 * 1024;
  // Bytes of one request: 1048576..2147483647.
  uint64_t client_query_buffer_limit = 1ull << 30;
  // Online key migration's throttles (RINGLEADER RELOAD of a change that moves keys): keys and
  // bytes the background migrator moves per second. 0..2147483647; 0: unthrottled.
  uint64_t migration_keys_per_second = 0;
  uint64_t migration_bytes_per_second = 0;
  // The `cluster:` key: absent = a standalone process (no data directory, no peers).
  std::optional<ClusterSettings> cluster;
  // The `locks:` key: absent = no lock service (LOCK.* and FENCED answer an error).
  std::optional<LockSettings> locks;
  // The `http_listen:` key, host:port of the admin HTTP listener (GET /metrics in Prometheus's
  // text format, /healthz, /readyz); absent = none.
  std::optional<Address> http_listen;
};

struct Config {
  std::string path;
  std::vector<Pool> pools;        // in file order
  RingleaderSettings ringleader;  // the `ringleader:` section; defaults when absent
};

// A located problem: "FILE:LINE:COL: message".
struct Error {
  std::string file;
  int line = 0;    // 1-based; 0 when not tied to a place
  int column = 0;  // 1-based
  std::string message;
  // "FILE:LINE:COL: message", or "FILE: message" when line is 0.
  std::string ToString() const;
};

// Parses and validates the nutcracker-style file at `path`. On success returns the pools and
// ringleader's settings; on failure returns every problem found (at least one), in file order.
std::expected<Config, std::vector<Error>> Load(const std::string& path);
// Same, from text already in memory; `path` is used in messages.
std::expected<Config, std::vector<Error>> Parse(const std::string& text, const std::string& path);

}  // namespace rl::conf
