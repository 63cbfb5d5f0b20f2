/* probe.c: the container image's health probe. The image holds no shell and
 * no curl, so HEALTHCHECK runs this: GET PATH from 127.0.0.1:PORT, exit 0
 * when the status line says 200, 1 otherwise (refused, timeout, other
 * status, garbage), with one line on stderr saying why.
 * Usage: cs-probe [PORT [PATH [TIMEOUT_MS]]]   (defaults 8080 /readyz 2000)
 * Built static by deploy/image.sh: cc -O2 -static -o cs-probe deploy/probe.c */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for `events` or the deadline passes: 0 or -1. */
static int wait_fd(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) return -1;
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, (int)left);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return -1;
  }
}

static int parse_long(const char *text, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || end == text || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  long port = 8080, timeout_ms = 2000;
  const char *path = argc > 2 ? argv[2] : "/readyz";
  if (argc > 4 || (argc > 1 && parse_long(argv[1], 1, 65535, &port) < 0) ||
      (argc > 3 && parse_long(argv[3], 1, 600000, &timeout_ms) < 0) || path[0] != '/' ||
      strlen(path) > 1024) {
    fprintf(stderr, "usage: cs-probe [PORT [PATH [TIMEOUT_MS]]]\n");
    return 2;
  }
  long long deadline = now_ms() + timeout_ms;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("cs-probe: socket");
    return 1;
  }
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
    fprintf(stderr, "cs-probe: connect 127.0.0.1:%ld: %s\n", port, strerror(errno));
    return 1;
  }
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (wait_fd(fd, POLLOUT, deadline) < 0 ||
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
    fprintf(stderr, "cs-probe: connect 127.0.0.1:%ld: %s\n", port,
            soerr ? strerror(soerr) : "timed out");
    return 1;
  }
  char req[1200];
  int n_req = snprintf(req, sizeof req,
                       "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
  for (int sent = 0; sent < n_req;) {
    ssize_t w = send(fd, req + sent, (size_t)(n_req - sent), MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (wait_fd(fd, POLLOUT, deadline) < 0) break;
      continue;
    }
    if (w <= 0) {
      fprintf(stderr, "cs-probe: send: %s\n", strerror(errno));
      return 1;
    }
    sent += (int)w;
  }
  /* Only the status line matters: "HTTP/1.x SSS ...". */
  char line[64];
  size_t got = 0;
  while (got < sizeof line - 1 && !memchr(line, '\n', got)) {
    if (wait_fd(fd, POLLIN, deadline) < 0) {
      fprintf(stderr, "cs-probe: GET %s: no answer within %ld ms\n", path, timeout_ms);
      return 1;
    }
    ssize_t r = recv(fd, line + got, sizeof line - 1 - got, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  line[got] = '\0';
  line[strcspn(line, "\r\n")] = '\0';
  int status = 0;
  if (sscanf(line, "HTTP/1.%*1[01] %3d", &status) != 1) {
    fprintf(stderr, "cs-probe: GET %s: not an HTTP status line: '%s'\n", path, line);
    return 1;
  }
  if (status != 200) {
    fprintf(stderr, "cs-probe: GET %s: HTTP %d\n", path, status);
    return 1;
  }
  return 0;
}
