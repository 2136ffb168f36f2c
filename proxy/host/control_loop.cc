#include "proxy/host/control_loop.h"

#include <cstdio>

#include "fmt/format.h"

namespace rl::proxy {

ControlLoop::~ControlLoop() {
  if (!initialized_) return;
  Quit();
  Join();
  // Nothing ran the loop (Run/Start never called): let the close callbacks free the handles.
  uv_run(&loop_, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop_) != 0) {
    std::fprintf(stderr, "ringleader: control loop still has handles at exit\n");
  }
}

std::expected<void, std::string> ControlLoop::Init() {
  int rc = uv_loop_init(&loop_);
  if (rc < 0) return std::unexpected(fmt::format("uv_loop_init: {}", uv_strerror(rc)));
  initialized_ = true;
  loop_.data = this;
  if ((rc = mailbox_.Open(&loop_)) < 0) {
    return std::unexpected(fmt::format("control mailbox: {}", uv_strerror(rc)));
  }
  return {};
}

void ControlLoop::OnSignal(int signum, std::function<void(int)> fn) {
  // The handle points at its function, which therefore lives on the heap.
  signal_fns_.push_back(std::make_unique<std::function<void(int)>>(std::move(fn)));
  UvHandle<uv_signal_t> h;
  h.Init([&](uv_signal_t* s) { return uv_signal_init(&loop_, s); }, signal_fns_.back().get());
  uv_signal_start(
      h.get(), [](uv_signal_t* s, int n) { (*static_cast<std::function<void(int)>*>(s->data))(n); },
      signum);
  signals_.push_back(std::move(h));
}

void ControlLoop::Run() { uv_run(&loop_, UV_RUN_DEFAULT); }

void ControlLoop::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ControlLoop::Join() {
  if (thread_.joinable()) thread_.join();
}

void ControlLoop::Quit() {
  // Through the mailbox, whose lock orders it against the close: the first Quit's closure
  // closes the mailbox (dropping what was posted after it) and every handle of the loop.
  mailbox_.Post([this] {
    mailbox_.Close();
    for (auto& s : signals_) s.Close();
    for (auto& fn : on_quit_) fn();
  });
}

}  // namespace rl::proxy
