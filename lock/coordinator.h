// Redlock over N independent Redis masters on one libuv loop (the control loop): a token from the
// TokenSource first, then the acquire script on every master in parallel; granted when a quorum
// (N/2+1) granted the same token and validity = ttl - elapsed - drift stays positive (elapsed on a
// monotonic clock, drift = ttl*drift_factor + drift_fixed_ms). A failed attempt releases what it
// got on every master. Release and extend run their compare-and-act scripts on every master.
// Info, Check and ForceRelease are in coordinator_query.cc, WAIT in coordinator_wait.cc.
// Counters for INFO in LockStats (lock/stats.h).
// Thread safety: everything on the loop's thread; completions run there. Destroying the
// coordinator drops pending completions without calling them.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lock/error.h"
#include "lock/scripts.h"
#include "lock/stats.h"
#include "lock/token_source.h"
#include "proxy/base/uv_handle.h"
#include "proxy/resp/client.h"

namespace rl::lock {

struct CoordinatorOptions {
  std::vector<proxy::RespClientOptions> masters;  // request_timeout 0 gets master_timeout
  std::chrono::milliseconds master_timeout{200};  // per master reply, bounds one attempt
  double drift_factor = 0.01;
  uint64_t drift_fixed_ms = 2;
  uint64_t token_block = 100;        // tokens reserved from the source at a time
  int max_stale_retries = 1;         // attempts again with a fresh token after a stale refusal
  std::function<uint64_t()> now_ms;  // monotonic milliseconds; default uv_hrtime
  LockStats* stats = nullptr;        // where to count (outlives the coordinator); null: its own
};

struct Grant {
  uint64_t token = 0;
  uint64_t validity_ms = 0;
};

// Client-facing error texts (without the leading '-').
inline constexpr std::string_view kNoQuorum = "TRYAGAIN no quorum of lock masters";
inline constexpr std::string_view kNotOwner = "NOTOWNER lock not held by this owner and token";

class Coordinator {
 public:
  // nullopt: held by other owners on enough masters to block any quorum (like SET NX's nil).
  // kNoQuorum (message kNoQuorum...) when too few masters answered or granted in time;
  // kStorage when no token could be minted.
  using AcquireDone = std::move_only_function<void(std::expected<std::optional<Grant>, Error>)>;
  using ReleaseDone = std::move_only_function<void(std::expected<bool, Error>)>;
  using ExtendDone = std::move_only_function<void(std::expected<uint64_t, Error>)>;

  // REQUIRES: loop is the calling thread's loop; tokens outlives the coordinator; masters >= 1.
  Coordinator(uv_loop_t* loop, TokenSource* tokens, CoordinatorOptions options);
  ~Coordinator();  // out of line: Waiter is incomplete here
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  void Acquire(std::string name, std::string owner, uint64_t ttl_ms, bool reentrant,
               AcquireDone done);
  // LOCK.ACQUIRE ... WAIT wait_ms: while other owners hold it, the caller waits here (queued per
  // lock, FIFO; the loop keeps serving everyone else) and retries when this coordinator releases
  // or force-releases the lock, or when the blocking leases end (plus jitter), until granted, an
  // error, or wait_ms has passed (then nil).
  void AcquireWait(std::string name, std::string owner, uint64_t ttl_ms, bool reentrant,
                   uint64_t wait_ms, AcquireDone done);
  // Callers waiting on `name` (LOCK.INFO's waiters).
  size_t waiters(const std::string& name) const;

  // true when at least one master released (owner, token); false when none held it.
  void Release(std::string name, std::string owner, uint64_t token, ReleaseDone done);
  // The new validity when a quorum extended within the ttl; else kNotOwner (or kNoQuorum when
  // too few masters answered).
  // Callers keep extending only while they hold the lock: a released or expired lock is NOTOWNER.
  void Extend(std::string name, std::string owner, uint64_t token, uint64_t ttl_ms,
              ExtendDone done);

  // LOCK.INFO: the holder a quorum of masters agree on (its lease: what a quorum still has), and
  // the highest mark any master answered. kNoQuorum when fewer than a quorum answered.
  struct LockInfo {
    std::optional<InfoReply::Holder> holder;
    uint64_t last_token = 0;
    size_t masters_answered = 0;
  };
  using InfoDone = std::move_only_function<void(std::expected<LockInfo, Error>)>;
  void Info(std::string name, InfoDone done);
  // LOCK.CHECK: whether `token` is the current grant (held on a quorum with a lease left).
  void Check(std::string name, uint64_t token, ReleaseDone done);
  // LOCK.FORCERELEASE: mints a fresh token F, deletes the holder on every master and raises each
  // master's mark to F, so no grant up to F happens again (a quorum must answer). The data
  // shards' marks are the caller's to raise to `fence` (proxy/host/lock_service.cc does).
  struct ForceReleased {
    bool deleted = false;  // a holder was deleted on some master
    uint64_t fence = 0;    // F
  };
  using ForceReleaseDone = std::move_only_function<void(std::expected<ForceReleased, Error>)>;
  void ForceRelease(std::string name, ForceReleaseDone done);

  const LockStats& stats() const { return *stats_; }
  // Counts the grants made here whose lease has ended unreleased (LockStats::expiries); a timer
  // calls it every second, tests may call it sooner.
  void SweepLeases();

  size_t masters() const { return clients_.size(); }
  size_t quorum() const { return clients_.size() / 2 + 1; }
  uint64_t DriftMs(uint64_t ttl_ms) const;

  struct Attempt;  // one acquire round (coordinator.cc)

 private:
  struct Waiter;  // coordinator_wait.cc
  void StartAcquire(std::string name, std::string owner, uint64_t ttl_ms, bool reentrant,
                    AcquireDone done, std::move_only_function<void(int64_t)> on_held);
  void Retry(Waiter* w);
  void Schedule(Waiter* w, int64_t delay_ms);
  void Wake(const std::string& name);
  void Remove(Waiter* w);
  void NextToken(std::move_only_function<void(std::expected<uint64_t, Error>)> done);
  void Start(std::shared_ptr<Attempt> attempt);
  void Finish(std::shared_ptr<Attempt> attempt);
  void ReleaseOn(const std::string& name, const std::string& owner, uint64_t token,
                 const std::vector<bool>& where);
  // The outcome of one LOCK.ACQUIRE for the caller: counted, and a grant's lease remembered.
  AcquireDone Counted(std::string name, AcquireDone done);
  void Forget(const std::string& name, uint64_t token);

  uv_loop_t* loop_;
  TokenSource* tokens_;
  CoordinatorOptions options_;
  std::vector<proxy::RespClientPtr> clients_;
  std::map<std::string, std::list<std::unique_ptr<Waiter>>> waiters_;  // per lock, FIFO
  uint64_t jitter_state_ = 0x9e3779b97f4a7c15ull;
  uint64_t next_token_ = 0;  // the cached block [next_token_, end_token_)
  uint64_t end_token_ = 0;
  LockStats own_stats_;
  LockStats* stats_ = &own_stats_;
  // The leases of grants made here that no release has ended: (name, token) -> deadline ms.
  std::map<std::pair<std::string, uint64_t>, uint64_t> leases_;
  proxy::UvHandle<uv_timer_t> sweep_timer_;
  // Cleared on destruction so that completions still queued on masters do nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace rl::lock
