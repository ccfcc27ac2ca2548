/* The loopback round-trip bound for one-in-flight benchmarks: the plainest
 * blocking TCP ping-pong (64 B each way, TCP_NODELAY), no framing, no event
 * loop. bench/ws.sh prints it beside the c=1 figures: no server driven by a
 * client over loopback on this machine can answer faster than this.
 *   tcp_pingpong_ref serve            prints its port, echoes one client
 *   tcp_pingpong_ref client PORT SECS  prints round trips per second */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  int one = 1;
  char buf[64] = {0};
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (argc >= 2 && strcmp(argv[1], "serve") == 0) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t n = sizeof a;
    if (bind(l, (struct sockaddr*)&a, sizeof a) || listen(l, 1) || getsockname(l, (struct sockaddr*)&a, &n)) return 1;
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    int c = accept(l, 0, 0);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ssize_t r;
    while ((r = read(c, buf, sizeof buf)) > 0)
      if (write(c, buf, (size_t)r) != r) return 1;
    return 0;
  }
  if (argc < 4) return 2;
  a.sin_port = htons((unsigned short)atoi(argv[2]));
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, (struct sockaddr*)&a, sizeof a)) return 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const double secs = atof(argv[3]), start = now();
  long trips = 0;
  double elapsed = 0;
  while (elapsed < secs) {
    if (write(s, buf, sizeof buf) != (ssize_t)sizeof buf) return 1;
    size_t got = 0;
    while (got < sizeof buf) {
      ssize_t r = read(s, buf + got, sizeof buf - got);
      if (r <= 0) return 1;
      got += (size_t)r;
    }
    if ((++trips & 255) == 0) elapsed = now() - start;
  }
  printf("%.0f\n", (double)trips / elapsed);
  return 0;
}
