// The migration engine's Backend and Clock over real Redis servers: one pipelined RespClient per
// server (made on first use, on the loop the backend was created on), the engine's atomic steps as
// Lua scripts (EVALSHA, EVAL when the server answers NOSCRIPT), and a Clock over uv timers. Used by
// the host's migration driver on the control loop and by each worker's data path during a change.
// Thread safety: one loop; every call and every callback on that loop's thread.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/migration/backend.h"
#include "proxy/resp/client.h"

namespace rl::migration {

struct LuaScript;  // a script's source and SHA1 (resp_backend.cc)

// Where a server listens, as its topology names it. MIGRATE sends the target's host and port to
// the source, so `host` must be reachable from the servers as well as from the proxy.
struct ServerAddress {
  ServerId id = 0;
  std::string host;
  uint16_t port = 0;
  std::string password;  // AUTH on connect, and MIGRATE ... AUTH when it is a target
};

struct RespBackendOptions {
  std::chrono::milliseconds connect_timeout{2000};
  // Every engine step is a few commands; a reply later than this is an unknown outcome.
  std::chrono::milliseconds request_timeout{10000};
  uint32_t migrate_timeout_ms = 5000;  // MIGRATE's own timeout argument
};

class RespBackend final : public Backend {
 public:
  // REQUIRES: loop is the calling thread's loop and outlives the backend (keep running it after
  // the backend is destroyed until the clients' handles are closed).
  RespBackend(uv_loop_t* loop, std::vector<ServerAddress> servers, RespBackendOptions options = {});
  ~RespBackend() override;

  // Adds or replaces a server (a ring change may name new ones). An existing connection to an
  // id whose address changed is dropped.
  void SetServer(ServerAddress server);

  void Scan(ServerId server, uint64_t cursor, uint32_t count, Callback<ScanPage> done) override;
  void Migrate(ServerId from, ServerId to, std::vector<std::string> keys, bool replace,
               Callback<MigrateOutcome> done) override;
  void RunIfExists(ServerId server, std::string key, Command command,
                   Callback<std::optional<Reply>> done) override;
  void Run(ServerId server, Command command, Callback<Reply> done) override;
  void CheckGate(ServerId server, std::string key, Callback<GateOutcome> done) override;
  void GatedDelete(ServerId server, std::string key, Callback<GateOutcome> done) override;
  void Delete(ServerId server, std::string key, Callback<bool> done) override;
  void Exists(ServerId server, std::string key, Callback<bool> done) override;
  void MarkInFlight(ServerId server, std::string key, std::string token,
                    Callback<bool> done) override;
  void GetMarker(ServerId server, std::string key,
                 Callback<std::optional<std::string>> done) override;
  void ReadChunk(ServerId server, std::string key, KeyType type, uint64_t cursor, uint32_t count,
                 Callback<Chunk> done) override;
  void AppendChunk(ServerId server, std::string staging, KeyType type,
                   std::vector<std::string> elements, Callback<Done> done) override;
  void Pttl(ServerId server, std::string key, Callback<int64_t> done) override;
  void InstallStaged(ServerId server, std::string staging, std::string key, int64_t pttl,
                     Callback<InstallOutcome> done) override;
  void FinishInFlight(ServerId server, std::string key, std::string token, bool delete_key,
                      Callback<bool> done) override;

 private:
  using RawDone = std::function<void(Result<proxy::RespReply>)>;

  // Sends argv to `server`; a connection failure or timeout becomes an Error, any reply (an
  // error reply included) is passed on.
  void Send(ServerId server, std::vector<std::string> argv, RawDone done);
  // EVALSHA, then EVAL with the source when the server does not know the script.
  void Eval(ServerId server, const LuaScript& script, std::vector<std::string> keys,
            std::vector<std::string> args, RawDone done);
  proxy::RespClient* ClientFor(ServerId server);
  // Runs fn on the loop's next iteration (for answers decided without a server).
  void Later(std::function<void()> fn);

  uv_loop_t* loop_;
  RespBackendOptions options_;
  std::map<ServerId, ServerAddress> servers_;
  std::map<ServerId, proxy::RespClientPtr> clients_;
  std::shared_ptr<bool> alive_;
};

// The engine's Clock over the loop's timers: NowMs is uv_now; After runs fn from a one-shot timer
// (never inside the call). Destroying the clock cancels what has not run.
class UvClock final : public Clock {
 public:
  explicit UvClock(uv_loop_t* loop);
  ~UvClock() override;
  UvClock(const UvClock&) = delete;
  UvClock& operator=(const UvClock&) = delete;

  uint64_t NowMs() const override;
  void After(uint64_t delay_ms, std::function<void()> fn) override;

 private:
  struct Timer;
  uv_loop_t* loop_;
  std::map<Timer*, std::unique_ptr<Timer>> timers_;
};

// The engine's Reply for a RESP reply (nested arrays flattened, nil elements as ""), with
// its RESP2 bytes in `raw`.
Reply ToReply(const proxy::RespReply& r);

}  // namespace rl::migration
