// What grpc++ itself costs: the same unary UnaryCall as `nettool grpc
// serve` answers (response_size zero bytes) as a minimal callback server,
// and a minimal callback client that keeps C calls in flight over K
// channels for a duration. Built by bench/grpc.sh against grpc-proto's
// test.proto; not part of nettool.
//   grpc_ref server PORTFILE
//   grpc_ref client HOST:PORT CONCURRENCY CONNECTIONS SECONDS
#include <grpc/testing/test.grpc.pb.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gt = grpc::testing;

class service final : public gt::TestService::CallbackService {
  grpc::ServerUnaryReactor* UnaryCall(grpc::CallbackServerContext* ctx, const gt::SimpleRequest* req,
                                      gt::SimpleResponse* resp) override {
    resp->mutable_payload()->mutable_body()->assign(static_cast<std::size_t>(req->response_size()), '\0');
    auto* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
};

int serve(const char* portfile) {
  service svc;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&svc);
  auto server = builder.BuildAndStart();
  std::ofstream(std::string(portfile) + ".tmp") << port;
  std::rename((std::string(portfile) + ".tmp").c_str(), portfile);
  server->Wait();
  return 0;
}

struct loop {
  gt::TestService::Stub* stub;
  gt::SimpleRequest request;
  gt::SimpleResponse response;
  std::unique_ptr<grpc::ClientContext> context;
  std::atomic<bool>* stop;
  std::atomic<long>* calls;
  std::atomic<int>* running;
  std::mutex* mu;
  std::condition_variable* cv;

  void next() {
    if (*stop) {
      if (--*running == 0) {
        std::lock_guard lock(*mu);
        cv->notify_all();
      }
      return;
    }
    context = std::make_unique<grpc::ClientContext>();
    stub->async()->UnaryCall(context.get(), &request, &response, [this](grpc::Status s) {
      if (s.ok()) ++*calls;
      next();
    });
  }
};

int client(const std::string& target, int concurrency, int connections, double seconds) {
  std::vector<std::unique_ptr<gt::TestService::Stub>> stubs;
  for (int i = 0; i < connections; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // a channel (and connection) each
    stubs.push_back(gt::TestService::NewStub(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args)));
  }
  std::atomic<bool> stop = false;
  std::atomic<long> calls = 0;
  std::atomic<int> running = concurrency;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<loop> loops(static_cast<std::size_t>(concurrency));
  for (int i = 0; i < concurrency; ++i) {
    auto& l = loops[static_cast<std::size_t>(i)];
    l = {stubs[static_cast<std::size_t>(i % connections)].get(), {}, {}, nullptr, &stop, &calls, &running, &mu, &cv};
    l.request.set_response_size(10);
  }
  const auto start = std::chrono::steady_clock::now();
  for (auto& l : loops) l.next();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return running == 0; });
  std::printf("%.0f\n", static_cast<double>(calls) / elapsed);
  return 0;
}

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "server" && argc == 3) return serve(argv[2]);
  if (mode == "client" && argc == 6) return client(argv[2], std::stoi(argv[3]), std::stoi(argv[4]), std::stod(argv[5]));
  std::fprintf(stderr, "usage: grpc_ref server PORTFILE | client HOST:PORT CONCURRENCY CONNECTIONS SECONDS\n");
  return 2;
}
