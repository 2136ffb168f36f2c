#include "proxy/host/lock_service.h"

#include <filesystem>
#include <system_error>

#include "fmt/format.h"
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
  service->tokens_ = std::move(*tokens);
  lock::CoordinatorOptions options;
  options.master_timeout = settings.request_timeout;
  options.drift_factor = settings.drift_factor;
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

void LockService::Close() { coordinator_.reset(); }

}  // namespace rl::proxy
