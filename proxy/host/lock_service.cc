#include "proxy/host/lock_service.h"

#include <filesystem>
#include <system_error>

#include "fmt/format.h"
#include "lock/fence.h"
#include "lock/raft_token_source.h"
#include "proxy/host/control_loop.h"
#include "raft/node/node.h"

namespace rl::proxy {

namespace {

// Tokens reserved through the cluster per Raft proposal: the coordinator takes 100 at a time
// (CoordinatorOptions::token_block), so one proposal serves ten of its blocks.
constexpr uint64_t kClusterTokenBlock = 1000;

std::expected<std::unique_ptr<lock::TokenSource>, std::string> OpenTokens(
    const conf::LockSettings& settings, raft::Node* cluster) {
  if (cluster != nullptr) {
    return std::make_unique<lock::RaftTokenSource>(
        [cluster](raft::Proposal p, raft::ProposalDone done) {
          cluster->Propose(std::move(p), std::move(done));
        },
        lock::RaftTokenSource::Options{kClusterTokenBlock});
  }
  std::error_code ec;
  std::filesystem::create_directories(settings.data_dir, ec);
  if (ec) {
    return std::unexpected(
        fmt::format("ringleader: locks: data_dir '{}': {}", settings.data_dir, ec.message()));
  }
  lock::FileTokenSource::Options token_options;
  token_options.data_dir = settings.data_dir;
  auto tokens = lock::FileTokenSource::Open(std::move(token_options));
  if (!tokens) {
    return std::unexpected(fmt::format("ringleader: locks: token file in '{}': {}",
                                       settings.data_dir, tokens.error().message));
  }
  return std::move(*tokens);
}

}  // namespace

std::expected<std::unique_ptr<LockService>, std::string> LockService::Start(
    ControlLoop* control, const conf::LockSettings& settings, raft::Node* cluster) {
  auto tokens = OpenTokens(settings, cluster);
  if (!tokens) return std::unexpected(tokens.error());
  std::unique_ptr<LockService> service(new LockService);
  service->control_ = control;
  service->request_timeout_ = settings.request_timeout;
  service->tokens_ = std::move(*tokens);
  lock::CoordinatorOptions options;
  options.master_timeout = settings.request_timeout;
  options.drift_factor = settings.drift_factor;
  options.stats = &service->stats_;
  for (const conf::Address& address : settings.masters) {
    RespClientOptions master;
    if (address.kind == conf::Address::Kind::kUnix) {
      master.unix_path = address.path;
    } else {
      master.host = address.host;
      master.port = address.port;
    }
    master.password = settings.password;
    options.masters.push_back(std::move(master));
  }
  service->coordinator_ = std::make_unique<lock::Coordinator>(
      control->loop(), service->tokens_.get(), std::move(options));
  return service;
}

LockService::~LockService() = default;

bool LockService::Post(std::function<void(lock::Coordinator&)> fn) {
  return control_->Post([this, fn = std::move(fn)] {
    if (coordinator_ != nullptr) fn(*coordinator_);
  });
}

void LockService::Close() {
  coordinator_.reset();
  data_clients_.clear();
}

namespace {

std::string ClientKey(const RespClientOptions& o) {
  return o.unix_path.empty()
             ? fmt::format("{}:{}/{}/{}/{}", o.host, o.port, o.db, o.user, o.password)
             : fmt::format("{}/{}/{}/{}", o.unix_path, o.db, o.user, o.password);
}

}  // namespace

void LockService::ForceRelease(
    std::string name, std::move_only_function<void(std::expected<bool, lock::Error>)> done) {
  coordinator_->ForceRelease(
      name, [this, name, done = std::move(done)](
                std::expected<lock::Coordinator::ForceReleased, lock::Error> released) mutable {
        if (!released) return done(std::unexpected(released.error()));
        if (coordinator_ == nullptr) return;  // closed meanwhile: completions are dropped
        std::vector<RespClientOptions> servers;
        if (data_servers_) servers = data_servers_();
        if (servers.empty()) return done(released->deleted);
        struct Round {
          size_t pending = 0;
          bool deleted = false;
          std::vector<std::string> failed;
          std::move_only_function<void(std::expected<bool, lock::Error>)> done;
        };
        auto round = std::make_shared<Round>();
        round->pending = servers.size();
        round->deleted = released->deleted;
        round->done = std::move(done);
        for (RespClientOptions& options : servers) {
          if (options.request_timeout.count() == 0) options.request_timeout = request_timeout_;
          RespClientPtr& client = data_clients_[ClientKey(options)];
          if (client == nullptr || client->closed()) {
            client = RespClient::Create(control_->loop(), std::move(options));
          }
          lock::RaiseShardMark(
              *client, name, released->fence, [round](std::expected<bool, lock::Error> raised) {
                if (!raised) round->failed.push_back(raised.error().message);
                if (--round->pending > 0) return;
                if (round->failed.empty()) return round->done(round->deleted);
                round->done(std::unexpected(
                    lock::Error{lock::Error::Code::kUnfenced,
                                fmt::format("TRYAGAIN the lock was force-released on the "
                                            "masters, but its fence was not raised on {} "
                                            "data server(s) ({}); send LOCK.FORCERELEASE "
                                            "again",
                                            round->failed.size(), round->failed.front())}));
              });
        }
      });
}

}  // namespace rl::proxy
