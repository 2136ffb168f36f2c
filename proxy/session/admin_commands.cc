#include "proxy/session/admin_commands.h"

#include <fmt/format.h>

#include <memory>
#include <vector>

#include "proxy/base/ascii.h"
#include "proxy/host/cluster_service.h"
#include "proxy/host/control_loop.h"
#include "proxy/host/lock_service.h"
#include "proxy/host/migration_driver.h"
#include "proxy/host/reloader.h"
#include "proxy/host/shared_state.h"
#include "proxy/host/worker.h"
#include "proxy/io/client_conn.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/pool_router.h"

namespace rl::proxy {

namespace {

void Finish(ClientConn* client, Request* r, std::string_view reply) {
  r->SetOwnReply(reply);
  r->done = true;
  client->OnReplyReady(r);
}

}  // namespace

namespace {

// The lock service's counters (lock/stats.h), when `ringleader: locks:` is configured.
void AppendLockFields(const lock::LockStats& s, std::string* out) {
  auto field = [out](std::string_view name, const auto& counter) {
    *out += fmt::format("rl_lock_{}:{}\r\n", name, counter.load(std::memory_order_relaxed));
  };
  field("acquires", s.acquires);
  field("grants", s.grants);
  field("not_granted", s.not_granted);
  field("acquire_errors", s.acquire_errors);
  field("stale_retries", s.stale_retries);
  field("waits", s.waits);
  field("waiting", s.waiting);
  field("held", s.held);
  field("releases", s.releases);
  field("releases_not_held", s.releases_not_held);
  field("extends", s.extends);
  field("extend_refusals", s.extend_refusals);
  field("force_releases", s.force_releases);
  field("expiries", s.expiries);
}

}  // namespace

std::string RingleaderInfoFields(const SharedState& shared) {
  std::string out;
  if (shared.cluster != nullptr) {
    std::shared_ptr<const std::string> fields = shared.cluster->InfoFields();
    if (fields != nullptr) out = *fields;
  } else {
    out = "rl_node_id:0\r\nrl_role:standalone\r\n";
  }
  if (shared.locks != nullptr) AppendLockFields(shared.locks->stats(), &out);
  if (shared.migration != nullptr) out += shared.migration->InfoFields();
  uint64_t fenced = 0, refused = 0;
  for (const auto& s : shared.stats) {
    fenced += Read(s->fenced_writes);
    refused += Read(s->fenced_refused);
  }
  out += fmt::format("rl_fenced_writes:{}\r\nrl_fenced_refused:{}\r\n", fenced, refused);
  return out;
}

namespace {

// RINGLEADER MIGRATION ...: answered by the migration driver on the control loop (standalone).
void RunMigrationCommand(PoolRouter* pool, ClientConn* client, Request* r,
                         std::span<const std::string_view> argv) {
  SharedState& shared = pool->worker()->shared();
  Worker* worker = pool->worker();
  std::string reply;
  if (shared.migration == nullptr || shared.control == nullptr) {
    AppendError(&reply, shared.control == nullptr
                            ? "ERR shutting down"
                            : "ERR RINGLEADER MIGRATION: online key migration runs only in a "
                              "standalone process for now (this one has `ringleader: cluster:`)");
    Finish(client, r, reply);
    return;
  }
  std::vector<std::string> args(argv.begin(), argv.end());
  MigrationDriver* driver = shared.migration;
  bool admin = pool->conf().admin_commands;
  bool posted = shared.control->Post([driver, worker, r, admin, args = std::move(args)] {
    driver->Call(args, admin, [worker, r](std::string text) {
      worker->Post([worker, r, text = std::move(text)] {
        r->SetOwnReply(text);
        r->done = true;
        worker->Complete(r);
      });
    });
  });
  if (!posted) {
    AppendError(&reply, "ERR shutting down");
    Finish(client, r, reply);
  }
}

}  // namespace

void RunRingleaderCommand(PoolRouter* pool, ClientConn* client, Request* r,
                          std::span<const std::string_view> argv) {
  SharedState& shared = pool->worker()->shared();
  std::string reply;
  if (EqualsIgnoreCase(argv[1], "help")) {
    static constexpr std::string_view kHelp[] = {
        "RINGLEADER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "STATUS",
        "    The rl_* fields of INFO ringleader: this node's role, term, leader, members.",
        "CLUSTER ADD <id> <host:port>",
        "    Adds a node as a learner (admin).",
        "CLUSTER PROMOTE <id>",
        "    Makes a caught-up learner a voter (admin).",
        "CLUSTER REMOVE <id>",
        "    Removes a node (admin).",
        "CLUSTER TRANSFER <id>",
        "    Hands leadership to a voter (admin).",
        "CLUSTER BARRIER",
        "    Commits an entry that changes nothing; replies its log index (admin).",
        "RELOAD [DRYRUN]",
        "    Re-reads the configuration file. DRYRUN prints the plan: per pool, servers added,",
        "    removed, reweighted, renamed or readdressed, settings changed, and the share of the",
        "    hash space (with an estimate of keys) moving between servers. RELOAD applies it:",
        "    settings and addresses at once, a topology change as epoch E+1 from E; a change",
        "    that moves keys migrates them online, standalone only: a cluster refuses it (admin).",
        "MIGRATION STATUS",
        "    The key migration under way (or the last one): phase, epochs, keys and bytes moved.",
        "MIGRATION PAUSE|RESUME",
        "    Pauses or resumes the background migrator; RESUME restarts one that failed (admin).",
        "MIGRATION ABORT",
        "    Moves the keys back to the servers of the epoch the change began from (admin).",
        "FAULT <spec>|OFF",
        "    Test builds: drop/delay/duplicate/block peer messages (admin).",
        "HELP",
        "    Prints this help.",
    };
    AppendArrayHeader(&reply, static_cast<int64_t>(std::size(kHelp)));
    for (std::string_view line : kHelp) AppendStatus(&reply, line);
    Finish(client, r, reply);
    return;
  }
  if (EqualsIgnoreCase(argv[1], "migration")) {
    RunMigrationCommand(pool, client, r, argv);
    return;
  }
  bool reload = EqualsIgnoreCase(argv[1], "reload");
  if (reload && (shared.reloader == nullptr || shared.control == nullptr)) {
    AppendError(&reply, "ERR shutting down");
    Finish(client, r, reply);
    return;
  }
  if (!reload && (shared.cluster == nullptr || shared.control == nullptr)) {
    if (EqualsIgnoreCase(argv[1], "status")) {
      AppendBulk(&reply, RingleaderInfoFields(shared));
    } else {
      AppendError(&reply,
                  fmt::format("ERR RINGLEADER {} needs a cluster: this process runs standalone "
                              "(no `ringleader: cluster:` section in {})",
                              AsciiUppercase(argv[1]),
                              shared.config != nullptr ? shared.config->path : "its file"));
    }
    Finish(client, r, reply);
    return;
  }
  std::vector<std::string> args(argv.begin(), argv.end());
  Worker* worker = pool->worker();
  ClusterService* cluster = shared.cluster;
  Reloader* reloader = reload ? shared.reloader : nullptr;
  bool admin = pool->conf().admin_commands;
  // The reply comes back through the worker's mailbox; a client that closed meanwhile left `r`
  // behind as an orphan, which Complete() frees.
  bool posted =
      shared.control->Post([cluster, reloader, worker, r, admin, args = std::move(args)]() mutable {
        auto answer = [worker, r](std::string text) {
          worker->Post([worker, r, text = std::move(text)] {
            r->SetOwnReply(text);
            r->done = true;
            worker->Complete(r);
          });
        };
        if (reloader != nullptr) {
          reloader->Call(std::move(args), admin, std::move(answer));
        } else {
          cluster->Call(std::move(args), admin, std::move(answer));
        }
      });
  if (!posted) {
    AppendError(&reply, "ERR shutting down");
    Finish(client, r, reply);
  }
}

}  // namespace rl::proxy
