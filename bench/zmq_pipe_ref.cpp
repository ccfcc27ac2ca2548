// The floor for part 2 of bench/zmq.sh: the same pipe as `nettool zmq push
// < file` -> `nettool zmq pull > file`, written with cppzmq and nothing
// else (blocking calls, no event loop, no options), so the script can show
// how close nettool comes to what libzmq itself allows.
//   zmq_pipe_ref push ENDPOINT < lines      one message per line
//   zmq_pipe_ref pull ENDPOINT COUNT > out   one line per message
#include <zmq.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

namespace {

void push(zmq::socket_t& socket) {
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

void pull(zmq::socket_t& socket, long count) {
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
  const bool pushing = argc == 3 && std::strcmp(argv[1], "push") == 0;
  const bool pulling = argc == 4 && std::strcmp(argv[1], "pull") == 0;
  if (!pushing && !pulling) {
    std::fprintf(stderr, "usage: zmq_pipe_ref push ENDPOINT | pull ENDPOINT COUNT\n");
    return 2;
  }
  zmq::context_t context(1);
  zmq::socket_t socket(context, pushing ? zmq::socket_type::push : zmq::socket_type::pull);
  if (pushing) {
    socket.connect(argv[2]);
    push(socket);  // the socket's default linger (forever) delivers the rest
  } else {
    socket.bind(argv[2]);
    pull(socket, std::atol(argv[3]));
  }
  return 0;
}
