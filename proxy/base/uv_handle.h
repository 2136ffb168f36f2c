// RAII for a standalone libuv handle (timer, async, check, prepare, signal): the handle lives on
// the heap and is freed only in its close callback, so the owner may go away at once. Objects
// that embed a handle (connections, listeners) instead delete themselves in their close callback.
// Thread safety: use on the loop's thread (uv_async_send excepted).
#pragma once

#include <uv.h>

#include <utility>

namespace rl::proxy {

template <typename T>
class UvHandle {
 public:
  UvHandle() = default;
  ~UvHandle() { Close(); }
  UvHandle(UvHandle&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  UvHandle& operator=(UvHandle&& other) noexcept {
    if (this != &other) {
      Close();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  // Allocates the handle and runs `init` on it (e.g. [&](uv_timer_t* t) { return
  // uv_timer_init(loop, t); }), storing `data` in handle->data. Returns init's result; on
  // failure nothing is kept.
  template <typename InitFn>
  int Init(InitFn&& init, void* data = nullptr) {
    Close();
    T* h = new T;
    int rc = init(h);
    if (rc < 0) {
      delete h;
      return rc;
    }
    h->data = data;
    h_ = h;
    return 0;
  }

  // Starts closing the handle; its memory is freed in the close callback.
  void Close() {
    if (h_ == nullptr) return;
    uv_handle_t* h = reinterpret_cast<uv_handle_t*>(std::exchange(h_, nullptr));
    if (uv_is_closing(h)) return;
    uv_close(h, [](uv_handle_t* closed) { delete reinterpret_cast<T*>(closed); });
  }

  T* get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }

 private:
  T* h_ = nullptr;
};

}  // namespace rl::proxy
