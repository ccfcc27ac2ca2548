// The floor for part 2 of bench/zmq.sh: the same pipe as `nettool zmq push
// < file` -> `nettool zmq pull > file`, written with cppzmq and nothing
// else (blocking calls, no event loop, no options), so the script can show
// how close nettool comes to what libzmq itself allows.
//   zmq_pipe_ref push ENDPOINT < lines      one message per line
//   zmq_pipe_ref pull ENDPOINT COUNT > out   one line per message
//   zmq_pipe_ref pub ENDPOINT < lines       binds; XPUB_NODROP, as `zmq pub`,
//                                           sends once one subscriber is there
//   zmq_pipe_ref sub ENDPOINT COUNT > out    connects, subscribed to everything
#include <zmq.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

namespace {

// Lines from stdin, one message each (push and pub).
void send_lines(zmq::socket_t& socket) {
  static char buffer[64 * 1024];
  std::string partial;  // a line cut by the end of a read
  for (;;) {
    const auto n = ::read(0, buffer, sizeof buffer);
    if (n <= 0) break;
    const char* at = buffer;
    const char* const end = buffer + n;
    while (const auto* lf = static_cast<const char*>(std::memchr(at, '\n', static_cast<std::size_t>(end - at)))) {
      if (partial.empty()) {
        socket.send(zmq::const_buffer(at, static_cast<std::size_t>(lf - at)), zmq::send_flags::none);
      } else {
        partial.append(at, lf);
        socket.send(zmq::buffer(partial), zmq::send_flags::none);
        partial.clear();
      }
      at = lf + 1;
    }
    partial.append(at, end);
  }
  if (!partial.empty()) socket.send(zmq::buffer(partial), zmq::send_flags::none);
}

// One line per message to stdout (pull and sub).
void receive_lines(zmq::socket_t& socket, long count) {
  static char buffer[64 * 1024];
  std::setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
  zmq::message_t msg;
  for (long i = 0; i < count; ++i) {
    (void)socket.recv(msg);
    std::fwrite(msg.data(), 1, msg.size(), stdout);
    std::putc('\n', stdout);
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const bool sending = argc == 3 && (mode == "push" || mode == "pub");
  const bool receiving = argc == 4 && (mode == "pull" || mode == "sub");
  if (!sending && !receiving) {
    std::fprintf(stderr, "usage: zmq_pipe_ref push|pub ENDPOINT | pull|sub ENDPOINT COUNT\n");
    return 2;
  }
  zmq::context_t context(1);
  const auto type = mode == "push" ? zmq::socket_type::push
                    : mode == "pull" ? zmq::socket_type::pull
                    : mode == "pub"  ? zmq::socket_type::xpub
                                     : zmq::socket_type::sub;
  zmq::socket_t socket(context, type);
  if (mode == "push") {
    socket.connect(argv[2]);
    send_lines(socket);  // the socket's default linger (forever) delivers the rest
  } else if (mode == "pub") {
    socket.set(zmq::sockopt::xpub_nodrop, 1);  // a full subscriber blocks the send, nothing is lost
    socket.bind(argv[2]);
    zmq::message_t subscription;
    (void)socket.recv(subscription);  // the first subscriber's subscription
    send_lines(socket);
  } else if (mode == "pull") {
    socket.bind(argv[2]);
    receive_lines(socket, std::atol(argv[3]));
  } else {
    socket.set(zmq::sockopt::subscribe, "");
    socket.connect(argv[2]);
    receive_lines(socket, std::atol(argv[3]));
  }
  return 0;
}
