#include "raft/node/disk_thread.h"

#include <utility>

#include "raft/invariant.h"

namespace rl::raft {

struct DiskThread::Shared {
  uv_async_t async;
  std::unique_ptr<Storage> storage;  // worker only
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<DiskJob, Done>> todo;          // under mu
  std::deque<std::pair<StorageResult<>, Done>> done;  // under mu
  bool quit = false;                                  // under mu
  DiskThread* owner = nullptr;                        // loop thread; null once stopped

  // Runs the finished jobs' callbacks, on the loop thread.
  void Drain() {
    std::deque<std::pair<StorageResult<>, Done>> ready;
    {
      std::lock_guard lock(mu);
      ready.swap(done);
    }
    for (auto& [result, callback] : ready) {
      if (owner != nullptr) --owner->pending_;
      callback(std::move(result));
    }
  }
};

namespace {

StorageResult<> Write(Storage& storage, const DiskJob& job) {
  if (job.snapshot) {
    if (auto r = storage.SaveSnapshot(*job.snapshot); !r) return r;
  }
  if (!job.entries.empty()) {
    if (auto r = storage.Append(job.entries); !r) return r;
  }
  if (job.hard_state) {
    if (auto r = storage.SaveHardState(*job.hard_state); !r) return r;
  }
  return storage.Sync();
}

}  // namespace

DiskThread::DiskThread(uv_loop_t* loop, std::unique_ptr<Storage> storage) : shared_(new Shared) {
  shared_->storage = std::move(storage);
  shared_->owner = this;
  shared_->async.data = shared_;
  int rc = uv_async_init(loop, &shared_->async,
                         [](uv_async_t* handle) { static_cast<Shared*>(handle->data)->Drain(); });
  RL_RAFT_CHECK(rc == 0, "uv_async_init: {}", uv_strerror(rc));
  worker_ = std::thread([this] { Work(); });
}

DiskThread::~DiskThread() { Stop(); }

void DiskThread::Submit(DiskJob job, Done done) {
  RL_RAFT_CHECK(!stopped_, "DiskThread::Submit after Stop");
  ++pending_;
  {
    std::lock_guard lock(shared_->mu);
    shared_->todo.emplace_back(std::move(job), std::move(done));
  }
  shared_->cv.notify_one();
}

void DiskThread::Work() {
  using Clock = std::chrono::steady_clock;
  Shared& s = *shared_;
  bool failed = false;
  std::optional<StorageError> first_error;
  std::optional<HardState> lazy;  // a commit-only hard state, not yet durable
  Clock::time_point lazy_due;     // when it is written even if jobs keep coming
  auto write_lazy = [&] {
    StorageResult<> r = s.storage->SaveHardState(*lazy);
    if (r) r = s.storage->Sync();
    lazy.reset();
    if (!r && !failed) {
      failed = true;
      first_error = r.error();  // reported to the next job
    }
  };
  while (true) {
    std::pair<DiskJob, Done> item;
    {
      std::unique_lock lock(s.mu);
      auto ready = [&] { return s.quit || !s.todo.empty(); };
      if (lazy && !failed &&
          (Clock::now() >= lazy_due || !s.cv.wait_until(lock, lazy_due, ready))) {
        lock.unlock();
        write_lazy();
        continue;
      }
      s.cv.wait(lock, ready);
      if (s.todo.empty()) {  // quit, and nothing left
        lock.unlock();
        if (lazy && !failed) write_lazy();
        return;
      }
      item = std::move(s.todo.front());
      s.todo.pop_front();
    }
    DiskJob& job = item.first;
    if (job.hard_state && job.hard_state_lazy) {
      if (!lazy) lazy_due = Clock::now() + kLazyHardStateDelay;
      lazy = std::move(job.hard_state);
      job.hard_state.reset();
    } else if (job.hard_state) {
      lazy.reset();  // superseded by a newer hard state, written now
    }
    // After a failure the storage is unusable: every later job reports that same error.
    StorageResult<> result =
        failed ? StorageResult<>(std::unexpected(*first_error)) : Write(*s.storage, job);
    if (!result && !failed) {
      failed = true;
      first_error = result.error();
    }
    {
      std::lock_guard lock(s.mu);
      s.done.emplace_back(std::move(result), std::move(item.second));
    }
    uv_async_send(&s.async);
  }
}

void DiskThread::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(shared_->mu);
    shared_->quit = true;
  }
  shared_->cv.notify_one();
  worker_.join();
  shared_->Drain();
  shared_->owner = nullptr;
  shared_->storage.reset();
  uv_close(reinterpret_cast<uv_handle_t*>(&shared_->async),
           [](uv_handle_t* handle) { delete static_cast<Shared*>(handle->data); });
}

}  // namespace rl::raft
