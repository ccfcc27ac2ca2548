// The client loop of bench/tcp.sh's accept-rate part: THREADS threads each
// open connections back to back to 127.0.0.1:PORT, send one byte, half-close
// and read until the server closes, COUNT connections in all. A connection
// is counted when the server has closed it, so the rate printed (conn/s) is
// the server's: accept, read, its output, close. Plain blocking sockets, so
// the loop costs the server as little as a client can.
//   tcp_accept_client PORT COUNT THREADS
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in server;
static atomic_long remaining;
static atomic_long failures;

static int one_connection(void) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  char byte = 'x', sink[256];
  int ok = connect(fd, (const struct sockaddr*)&server, sizeof server) == 0 && write(fd, &byte, 1) == 1 &&
           shutdown(fd, SHUT_WR) == 0;
  while (ok) {
    const ssize_t n = read(fd, sink, sizeof sink);
    if (n == 0) break;
    if (n < 0) ok = 0;
  }
  close(fd);
  return ok ? 0 : -1;
}

static void* loop(void* unused) {
  (void)unused;
  while (atomic_fetch_sub(&remaining, 1) > 0)
    if (one_connection() != 0) atomic_fetch_add(&failures, 1);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: tcp_accept_client PORT COUNT THREADS\n");
    return 2;
  }
  server.sin_family = AF_INET;
  server.sin_port = htons((unsigned short)atoi(argv[1]));
  inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  const long count = atol(argv[2]);
  const int threads = atoi(argv[3]);
  atomic_store(&remaining, count);
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  pthread_t ids[64];
  for (int i = 0; i < threads && i < 64; ++i) pthread_create(&ids[i], NULL, loop, NULL);
  for (int i = 0; i < threads && i < 64; ++i) pthread_join(ids[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &end);
  const double secs = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
  if (atomic_load(&failures) > 0) {
    fprintf(stderr, "tcp_accept_client: %ld connections failed\n", atomic_load(&failures));
    return 1;
  }
  printf("%.0f\n", (double)count / secs);
  return 0;
}
