// MULTI / EXEC / DISCARD / WATCH / UNWATCH for one client (part of its ClientSession).
//
// Between MULTI and EXEC ringleader queues the commands itself, answering +QUEUED as Redis
// does, after checking what Redis checks at queue time and one thing more: every keyed command
// must live on the transaction's server (the owner of its first key, or of the WATCHed keys).
// A command refused at queue time is answered with an error and makes EXEC fail with
// -EXECABORT, as in Redis. EXEC sends MULTI, the queued commands and EXEC to that server in one
// batch, and forwards the server's EXEC reply byte for byte (the array, or nil after a WATCH
// conflict). Without WATCH the batch goes on the client's shared connection (in order with its
// other requests there, and atomic: nothing else is written inside it); after WATCH it goes on
// the command connection reserved for the client, where the keys are watched.
// Thread safety: owned by the client's worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/io/request.h"

namespace rl::proxy {

class ClientSession;
struct CommandInfo;
struct ParsedRequest;

class Transaction {
 public:
  explicit Transaction(ClientSession* session) : session_(session) {}
  ~Transaction();

  bool in_multi() const { return in_multi_; }

  // MULTI, EXEC, DISCARD, WATCH, and UNWATCH outside MULTI.
  void Run(Request* r, const ParsedRequest& req, const CommandInfo& info);
  // Any other command of a client in MULTI.
  void Queue(Request* r, const ParsedRequest& req, const CommandInfo& info);
  // A command was refused at queue time: EXEC will fail.
  void Flag() {
    if (in_multi_) aborted_ = true;
  }
  // The client's command connection to `backend` closed: watches there are gone.
  void OnConnLost(uint32_t backend);
  // RESET or the client went away: forget everything (the connections are closed by the
  // session).
  void Reset();

 private:
  void Exec(Request* r);
  void Watch(Request* r, const ParsedRequest& req, const CommandInfo& info);
  void Unwatch(Request* r);
  void Refuse(Request* r, std::string_view error);
  // Ends MULTI (keeping WATCH state), freeing queued commands.
  void EndMulti();
  // Tells the server to forget this client's watches (after DISCARD or an aborted EXEC).
  void DropWatches();

  ClientSession* session_;
  bool in_multi_ = false;
  bool aborted_ = false;
  std::string abort_reason_;        // ringleader's own reason, added to -EXECABORT
  uint32_t target_ = UINT32_MAX;    // backend index the transaction runs on, once known
  std::vector<Request*> queued_;    // kOwned slots holding the queued commands' bytes
  uint32_t watching_ = UINT32_MAX;  // backend index where this client watches keys
  bool watch_lost_ = false;         // that connection closed since WATCH
};

}  // namespace rl::proxy
