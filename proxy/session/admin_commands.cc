#include "proxy/session/admin_commands.h"

#include <fmt/format.h>

#include <memory>
#include <vector>

#include "proxy/base/ascii.h"
#include "proxy/host/cluster_service.h"
#include "proxy/host/control_loop.h"
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

std::string RingleaderInfoFields(const SharedState& shared) {
  if (shared.cluster != nullptr) {
    std::shared_ptr<const std::string> fields = shared.cluster->InfoFields();
    return fields != nullptr ? *fields : std::string{};
  }
  return "rl_node_id:0\r\nrl_role:standalone\r\n";
}

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
  if (shared.cluster == nullptr || shared.control == nullptr) {
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
  bool admin = pool->conf().admin_commands;
  // The reply comes back through the worker's mailbox; a client that closed meanwhile left `r`
  // behind as an orphan, which Complete() frees.
  bool posted = shared.control->Post([cluster, worker, r, admin, args = std::move(args)]() mutable {
    cluster->Call(std::move(args), admin, [worker, r](std::string answer) {
      worker->Post([worker, r, answer = std::move(answer)] {
        r->SetOwnReply(answer);
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

}  // namespace rl::proxy
