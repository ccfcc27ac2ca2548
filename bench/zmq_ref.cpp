// The reference for bench/zmq.sh: libzmq's own PUSH/PULL throughput through
// cppzmq with nothing else, in the same shape as `nettool zmq bench
// --pattern push-pull`: one process, the two ends on two threads with a
// context each, loopback TCP, N messages of SIZE bytes, timed from the
// first send to the last message received.
//   zmq_ref N SIZE PORT
#include <zmq.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: zmq_ref N SIZE PORT\n");
    return 2;
  }
  const long n = std::atol(argv[1]);
  const std::size_t size = std::strtoul(argv[2], nullptr, 10);
  const std::string ep = std::string("tcp://127.0.0.1:") + argv[3];

  zmq::context_t receiver_context(1);
  zmq::socket_t pull(receiver_context, zmq::socket_type::pull);
  pull.bind(ep);
  std::chrono::steady_clock::time_point last;
  std::thread receiver([&] {
    zmq::message_t msg;
    for (long i = 0; i < n; ++i) (void)pull.recv(msg);
    last = std::chrono::steady_clock::now();
  });

  zmq::context_t sender_context(1);
  zmq::socket_t push(sender_context, zmq::socket_type::push);
  push.connect(ep);
  const std::string payload(size, 'x');
  const auto first = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) push.send(zmq::buffer(payload), zmq::send_flags::none);
  receiver.join();
  const double seconds = std::chrono::duration<double>(last - first).count();
  std::printf("%.1f\n", static_cast<double>(n) / seconds);
  return 0;
}
