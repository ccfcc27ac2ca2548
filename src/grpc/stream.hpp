// One client call of any streaming kind, as coroutines: grpc++'s generic
// callback reactor, its completions carried back to the io_context by
// core::foreign_call. On the wire every kind is a stream: a unary call
// writes one message and half-closes.
#pragma once

#include "nettool/core/foreign_thread.hpp"

#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/client_callback.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace nettool::grpc {

using core::awaitable;

class stream final : private ::grpc::ClientBidiReactor<::grpc::ByteBuffer, ::grpc::ByteBuffer> {
 public:
  // `context` is set up by the caller (metadata, deadline) and must outlive
  // the stream. The call starts at once.
  stream(::grpc::GenericStub& stub, const std::string& method, ::grpc::ClientContext& context);
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  // Runs `body` over the call, then waits for grpc++ to be done with it
  // (OnDone), whatever `body` did: its exception is rethrown after the call
  // was cancelled and finished, so no callback outlives the stream.
  awaitable<::grpc::Status> run(std::function<awaitable<void>(stream&)> body);

  // false: the call is over (read its status from run()).
  awaitable<bool> write(const ::grpc::ByteBuffer& message);
  awaitable<bool> writes_done();
  // nullopt: no more messages.
  awaitable<std::optional<::grpc::ByteBuffer>> read();

  ::grpc::ClientContext& context() noexcept { return context_; }
  // The call's status once run() has returned or thrown: when `body` failed
  // because the call ended (a stream cut short), the status says why.
  ::grpc::Status final_status() {
    std::lock_guard lock(done_mutex_);
    return status_.value_or(::grpc::Status(::grpc::StatusCode::UNKNOWN, "the call has not ended"));
  }
  // Whether the server's headers arrived (with its first message or its
  // status): an UNAVAILABLE before them means the call never reached it.
  bool got_headers() const noexcept { return got_headers_; }

 private:
  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnWritesDoneDone(bool ok) override;
  void OnDone(const ::grpc::Status& status) override;

  // `start` by value: a coroutine keeps its parameters, not the caller's temporaries.
  awaitable<bool> await_op(core::foreign_done<bool>& slot, std::function<void()> start);

  ::grpc::ClientContext& context_;
  ::grpc::ByteBuffer incoming_;
  // Each completion moves its slot's function out before calling it: the
  // call resumes the waiting coroutine, which may fill the slot again.
  core::foreign_done<bool> on_read_, on_write_, on_writes_done_;
  core::foreign_done<::grpc::Status> on_done_;
  std::optional<::grpc::Status> status_;  // set by OnDone before on_done_ is armed
  std::mutex done_mutex_;
  std::atomic<bool> got_headers_ = false;  // written on grpc++'s threads
};

}  // namespace nettool::grpc
