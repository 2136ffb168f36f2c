// The libuv handles of a Node (raft/node/node.h): the tick timer and the idle handle that runs
// the Ready loop once per loop turn. They live apart from the Node so their memory is freed only
// in their close callbacks, after the Node may be gone. Internal to raft/node.
// Thread safety: the node's loop thread.
#pragma once

#include <functional>

#include "raft/invariant.h"
#include "raft/node/node.h"
#include "uv.h"

namespace rl::raft {

struct Node::Handles {
  Handles(uv_loop_t* loop, Node* owner) : node(owner) {
    uv_timer_init(loop, &timer);
    uv_idle_init(loop, &idle);
    timer.data = this;
    idle.data = this;
  }

  void StartTimer(uint64_t ms) {
    uv_timer_start(
        &timer, [](uv_timer_t* t) { static_cast<Handles*>(t->data)->node->OnTick(); }, ms, ms);
  }
  // Runs the Ready loop on the next turn of the loop (an active idle handle also keeps the loop
  // from blocking in poll meanwhile), once however many events asked for it.
  void Wake() {
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(&idle))) return;
    uv_idle_start(&idle, [](uv_idle_t* i) {
      uv_idle_stop(i);
      static_cast<Handles*>(i->data)->node->ProcessReady();
    });
  }
  void StopAll() {
    uv_timer_stop(&timer);
    uv_idle_stop(&idle);
  }
  void Close(std::function<void()> on_closed) {
    StopAll();
    done = std::move(on_closed);
    node = nullptr;
    auto closed = [](uv_handle_t* h) {
      auto* self = static_cast<Handles*>(h->data);
      if (--self->open != 0) return;
      std::function<void()> d = std::move(self->done);
      delete self;
      if (d) d();
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&idle), closed);
  }

  uv_timer_t timer;
  uv_idle_t idle;
  Node* node;
  int open = 2;
  std::function<void()> done;
};

}  // namespace rl::raft
