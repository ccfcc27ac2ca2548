#include "stream.hpp"

namespace nettool::grpc {

namespace {
template <class T>
void fire(core::foreign_done<T>& slot, T value) {
  auto done = std::move(slot);
  slot = nullptr;
  if (done) done(std::move(value));
}
}  // namespace

stream::stream(::grpc::GenericStub& stub, const std::string& method, ::grpc::ClientContext& context)
    : context_(context) {
  stub.PrepareBidiStreamingCall(&context_, method, ::grpc::StubOptions(), this);
  AddHold();  // OnDone waits for run() to say the body is over
  StartCall();
}

void stream::OnReadInitialMetadataDone(bool ok) { got_headers_ = got_headers_ || ok; }
void stream::OnReadDone(bool ok) { fire(on_read_, ok); }
void stream::OnWriteDone(bool ok) { fire(on_write_, ok); }
void stream::OnWritesDoneDone(bool ok) { fire(on_writes_done_, ok); }

void stream::OnDone(const ::grpc::Status& status) {
  core::foreign_done<::grpc::Status> done;
  {
    std::lock_guard lock(done_mutex_);
    status_ = status;
    done = std::move(on_done_);
  }
  if (done) done(status);
}

awaitable<bool> stream::await_op(core::foreign_done<bool>& slot, std::function<void()> start) {
  std::function<void(core::foreign_done<bool>)> begin = [&slot, &start](core::foreign_done<bool> done) {
    slot = std::move(done);
    start();
  };
  auto op = core::foreign_call<bool>(std::move(begin), [this] { context_.TryCancel(); });
  const bool ok = co_await std::move(op);
  co_return ok;
}

awaitable<bool> stream::write(const ::grpc::ByteBuffer& message) {
  auto op = await_op(on_write_, [&] { StartWrite(&message); });
  const bool ok = co_await std::move(op);
  co_return ok;
}

awaitable<bool> stream::writes_done() {
  auto op = await_op(on_writes_done_, [&] { StartWritesDone(); });
  const bool ok = co_await std::move(op);
  co_return ok;
}

awaitable<std::optional<::grpc::ByteBuffer>> stream::read() {
  auto op = await_op(on_read_, [&] { StartRead(&incoming_); });
  const bool ok = co_await std::move(op);
  if (ok) got_headers_ = true;
  if (!ok) co_return std::nullopt;
  co_return std::move(incoming_);
}

awaitable<::grpc::Status> stream::run(std::function<awaitable<void>(stream&)> body) {
  std::exception_ptr failure;
  try {
    auto task = body(*this);
    co_await std::move(task);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) context_.TryCancel();
  // A cancelled coroutine throws at its next co_await (Asio's default); this
  // one must still wait for grpc++ to let go of the stream.
  co_await core::asio::this_coro::reset_cancellation_state();
  std::function<void(core::foreign_done<::grpc::Status>)> begin = [this](core::foreign_done<::grpc::Status> done) {
    std::optional<::grpc::Status> ready;
    {
      std::lock_guard lock(done_mutex_);
      if (status_)
        ready = status_;
      else
        on_done_ = std::move(done);
    }
    if (ready) done(*ready);
    RemoveHold();
  };
  auto finished = core::foreign_call<::grpc::Status>(std::move(begin), [this] { context_.TryCancel(); });
  auto status = co_await std::move(finished);
  if (failure) std::rethrow_exception(failure);
  co_return status;
}

}  // namespace nettool::grpc
