// A moving key's request: its argv is copied (the request's bytes are the client's buffer), the
// client pauses, the KeyRouter's plan runs over this worker's RespBackend, and the reply (a
// server's own bytes when the plan ended with a server's answer) completes the request in its
// place on the client's out queue; then the client resumes. A plan that holds (PREPARE) is tried
// again every few milliseconds with whatever route is current then.
#include "proxy/route/migration_path.h"

#include <fmt/format.h>

#include "proxy/commands/command_table.h"
#include "proxy/host/worker.h"
#include "proxy/io/client_conn.h"
#include "proxy/io/request.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/pool_router.h"
#include "proxy/route/topology.h"

namespace rl::proxy {
namespace {

constexpr uint64_t kHoldRetryMs = 5;

migration::CommandClass ClassOf(const CommandInfo& info) {
  if ((info.flags & kWrite) == 0) return migration::CommandClass::kRead;
  // DEL and UNLINK: their reply counts keys removed, which a delete plan computes.
  if (info.merge == Merge::kSumIntegers) return migration::CommandClass::kDelete;
  return migration::CommandClass::kWrite;
}

std::string Encode(const migration::Reply& reply) {
  if (!reply.raw.empty()) return reply.raw;
  std::string out;
  switch (reply.kind) {
    case migration::Reply::Kind::kNil:
      AppendNullBulk(&out);
      break;
    case migration::Reply::Kind::kStatus:
      AppendStatus(&out, reply.text);
      break;
    case migration::Reply::Kind::kString:
      AppendBulk(&out, reply.text);
      break;
    case migration::Reply::Kind::kInteger:
      AppendInteger(&out, reply.integer);
      break;
    case migration::Reply::Kind::kError:
      AppendError(&out, reply.text);
      break;
    case migration::Reply::Kind::kArray:
      AppendArrayHeader(&out, static_cast<int64_t>(reply.elements.size()));
      for (const std::string& e : reply.elements) AppendBulk(&out, e);
      break;
  }
  return out;
}

// A backend failure: the command may or may not have run, so the client is told exactly that.
std::string FailureReply(const migration::Error& e) {
  std::string out;
  if (e.kind == migration::ErrorKind::kTryAgain) {
    AppendError(&out, fmt::format("TRYAGAIN key migration: {}", e.message));
  } else {
    AppendError(&out, fmt::format("ERR key migration: backend failure ({}); the command may or "
                                  "may not have taken effect",
                                  e.message));
  }
  return out;
}

}  // namespace

struct MigrationPath::Pending {
  Request* r = nullptr;
  migration::CommandClass cls = migration::CommandClass::kRead;
  migration::Command command;
  std::vector<std::string> keys;
};

MigrationPath::MigrationPath(PoolRouter* pool)
    : pool_(pool), alive_(std::make_shared<bool>(true)) {}

MigrationPath::~MigrationPath() { *alive_ = false; }

void MigrationPath::Shutdown() {
  *alive_ = false;
  drains_.clear();
  backend_.reset();
  clock_.reset();
}

void MigrationPath::Set(std::shared_ptr<const MigrationRoute> route, std::shared_ptr<void> ack) {
  if (route != nullptr) {
    EnsureBackend();
    for (const migration::ServerAddress& s : route->servers) backend_->SetServer(s);
  }
  route_ = std::move(route);
  if (ack != nullptr && running_ > 0) drains_.push_back(std::move(ack));
}

void MigrationPath::EnsureBackend() {
  if (backend_ != nullptr) return;
  uv_loop_t* loop = pool_->worker()->loop();
  backend_ =
      std::make_unique<migration::RespBackend>(loop, std::vector<migration::ServerAddress>{});
  clock_ = std::make_unique<migration::UvClock>(loop);
}

std::string MigrationPath::SessionRefusal(const CommandInfo& info,
                                          std::span<const std::string_view> argv,
                                          std::span<const uint32_t> keys) const {
  if (route_ == nullptr) return {};
  bool refuse = info.handler == Handler::kMulti;
  if (info.route == Route::kBlocking) {
    for (uint32_t k : keys) refuse = refuse || route_->router.Moving(argv[k]);
  }
  if (!refuse) return {};
  std::string out;
  AppendError(&out, fmt::format(kMigrationSessionError, pool_->conf().name, route_->target_epoch));
  return out;
}

bool MigrationPath::Take(ClientConn* client, Request* r, const CommandInfo& info,
                         std::span<const std::string_view> argv, std::span<const uint32_t> keys) {
  if (route_ == nullptr) return false;
  bool moving = false;
  for (uint32_t k : keys) moving = moving || route_->router.Moving(argv[k]);
  if (!moving) return false;
  auto p = std::make_shared<Pending>();
  p->r = r;
  p->cls = ClassOf(info);
  p->command.argv.assign(argv.begin(), argv.end());
  for (uint32_t k : keys) p->keys.emplace_back(argv[k]);
  client->Pause();
  Run(std::move(p));
  return true;
}

void MigrationPath::Run(std::shared_ptr<Pending> p) {
  std::vector<std::string_view> keys(p->keys.begin(), p->keys.end());
  migration::Plan plan;
  if (route_ != nullptr) {
    plan = route_->router.Route(p->cls, keys);
  } else {
    // The change ended while the request was held: its keys have their new owner now.
    const Topology& t = pool_->topology();
    plan.steps.push_back(migration::Step{
        migration::Step::Op::kRun, t.servers()[t.ring().Lookup(keys[0])].id, 0, {}});
  }
  switch (plan.kind) {
    case migration::Plan::Kind::kRefuse: {
      std::string out;
      AppendError(&out, plan.error);
      return Finish(std::move(p), std::move(out));
    }
    case migration::Plan::Kind::kHold:
      clock_->After(kHoldRetryMs, [this, alive = alive_, p] {
        if (*alive) Run(p);
      });
      return;
    case migration::Plan::Kind::kSteps:
      break;
  }
  ++running_;
  migration::ExecutePlan(*backend_, *clock_, std::move(plan), p->command,
                         migration::ExecutorOptions{},
                         [this, alive = alive_, p](migration::Result<migration::Reply> reply) {
                           if (!*alive) return;
                           if (--running_ == 0) drains_.clear();  // releases the acks
                           Finish(p, reply ? Encode(*reply) : FailureReply(reply.error()));
                         });
}

void MigrationPath::Finish(std::shared_ptr<Pending> p, std::string bytes) {
  Request* r = p->r;
  ClientConn* client = r->client;  // null: the client went away (r is an orphan)
  r->SetOwnReply(bytes);
  r->done = true;
  pool_->worker()->Complete(r);  // frees an orphan
  if (client != nullptr && !client->closed()) client->Resume();
}

}  // namespace rl::proxy
