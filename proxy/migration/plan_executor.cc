// The plan executor: one heap object per command, advancing one step per backend completion.
#include "proxy/migration/plan_executor.h"

#include <memory>
#include <utility>

namespace rl::migration {
namespace {

class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(Backend& backend, Clock& clock, Plan plan, Command command, const ExecutorOptions& options,
      Callback<Reply> done)
      : backend_(backend),
        clock_(clock),
        plan_(std::move(plan)),
        command_(std::move(command)),
        options_(options),
        done_(std::move(done)) {}

  void Next() {
    if (index_ == plan_.steps.size()) return Finish(Reply::Integer(removed_));
    const Step& step = plan_.steps[index_];
    switch (step.op) {
      case Step::Op::kRun:
        return DoRun(step);
      case Step::Op::kRunIfExists:
        return DoRunIfExists(step);
      case Step::Op::kMove:
        return DoGate(step);
      case Step::Op::kGatedDelete:
        return DoGatedDelete(step);
      case Step::Op::kDelete:
        return DoDelete(step);
    }
  }

 private:
  void Advance() {
    ++index_;
    Next();
  }
  void Finish(Result<Reply> r) {
    auto done = std::move(done_);
    done(std::move(r));
  }
  void Fail(const Error& e) { Finish(std::unexpected(e)); }

  // A step that met a key in flight runs again later.
  void Wait() {
    if (++waits_ > options_.max_in_flight_waits) {
      return Fail(Error{ErrorKind::kTryAgain, "TRYAGAIN key is being migrated, retry later"});
    }
    clock_.After(options_.retry_delay_ms, [self = shared_from_this()] { self->Next(); });
  }

  void DoRun(const Step& step) {
    backend_.Run(step.server, command_,
                 [self = shared_from_this()](Result<Reply> r) { self->Finish(std::move(r)); });
  }

  void DoRunIfExists(const Step& step) {
    backend_.RunIfExists(step.server, step.key, command_,
                         [self = shared_from_this()](Result<std::optional<Reply>> r) {
                           if (!r) return self->Fail(r.error());
                           if (*r) return self->Finish(std::move(**r));
                           self->Advance();
                         });
  }

  void DoGate(const Step& step) {
    backend_.CheckGate(step.server, step.key, [self = shared_from_this()](Result<GateOutcome> r) {
      if (!r) return self->Fail(r.error());
      if (*r == GateOutcome::kInFlight) return self->Wait();
      self->DoMigrate(false);
    });
  }

  // MIGRATE without REPLACE first: BUSYKEY then means the target holds a copy of a key the
  // source still has (a MIGRATE that timed out after the target restored it, or a chunked
  // copy being installed); nothing writes the target before the source lost the key, so that
  // copy equals the source's and REPLACE, atomic on the source, is safe.
  void DoMigrate(bool replace) {
    const Step& step = plan_.steps[index_];
    backend_.Migrate(step.server, step.target, {step.key}, replace,
                     [self = shared_from_this(), replace](Result<MigrateOutcome> r) {
                       self->OnMigrate(replace, r);
                     });
  }

  void OnMigrate(bool replace, const Result<MigrateOutcome>& r) {
    if (!r) return Fail(r.error());
    switch (*r) {
      case MigrateOutcome::kOk:
      case MigrateOutcome::kNoKey:
        return Advance();
      case MigrateOutcome::kBusyKey:
        if (replace) return Fail(Error{ErrorKind::kServer, "BUSYKEY after REPLACE"});
        return DoMigrate(true);
      case MigrateOutcome::kIoErr:
        if (options_.bug == PlantedBug::kIoErrAsAbsent) return Advance();
        if (++ioerrs_ > options_.max_ioerr_retries) {
          return Fail(Error{ErrorKind::kTryAgain, "TRYAGAIN moving the key failed (IOERR)"});
        }
        return DoMigrate(false);
    }
  }

  void DoGatedDelete(const Step& step) {
    backend_.GatedDelete(step.server, step.key, [self = shared_from_this()](Result<GateOutcome> r) {
      if (!r) return self->Fail(r.error());
      if (*r == GateOutcome::kInFlight) return self->Wait();
      self->key_removed_ = *r == GateOutcome::kDone;
      self->Advance();
    });
  }

  void DoDelete(const Step& step) {
    backend_.Delete(step.server, step.key, [self = shared_from_this()](Result<bool> r) {
      if (!r) return self->Fail(r.error());
      // Both servers holding the key (an identical copy) still counts one key.
      if (*r || self->key_removed_) ++self->removed_;
      self->key_removed_ = false;
      self->Advance();
    });
  }

  Backend& backend_;
  Clock& clock_;
  Plan plan_;
  Command command_;
  ExecutorOptions options_;
  Callback<Reply> done_;
  size_t index_ = 0;
  uint32_t waits_ = 0;
  uint32_t ioerrs_ = 0;
  bool key_removed_ = false;
  int64_t removed_ = 0;
};

}  // namespace

void ExecutePlan(Backend& backend, Clock& clock, Plan plan, Command command,
                 const ExecutorOptions& options, Callback<Reply> done) {
  auto run = std::make_shared<Run>(backend, clock, std::move(plan), std::move(command), options,
                                   std::move(done));
  run->Next();
}

}  // namespace rl::migration
