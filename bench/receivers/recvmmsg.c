/*
 * Baseline receiver, the machine's limit: C with recvmmsg(2), 64
 * datagrams per call, non-blocking sockets and poll(2), an 8 MiB socket
 * receive buffer. Speaks the
 * protocol of bench/receiver_protocol.ts:
 *
 *   recvmmsg MODE GROUP PORT MAX_SECONDS LISTENERS
 *
 * MODE sink counts; MODE ack answers "ack" to the sender (a request framed
 * with a sequence number, as send({ sequence: true }) frames it, gets a
 * framed reply). Sockets bind GROUP:PORT and join on 127.0.0.1 only;
 * groups outside 239.50.0.0/16 and ports outside 50000-50999 are refused.
 * bench/c_program.ts compiles it into a temporary directory at run time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BATCH = 64, MAX_LISTENERS = 200, SLOT = 2048 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void emit(const char *json) {
  fputs(json, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: recvmmsg MODE GROUP PORT MAX_SECONDS LISTENERS\n");
    return 2;
  }
  int ack = strcmp(argv[1], "ack") == 0;
  const char *group = argv[2];
  int port = atoi(argv[3]);
  double max_seconds = atof(argv[4]);
  int listeners = atoi(argv[5]);
  struct in_addr group_addr, lo;
  inet_pton(AF_INET, "127.0.0.1", &lo);
  if ((!ack && strcmp(argv[1], "sink") != 0) ||
      inet_pton(AF_INET, group, &group_addr) != 1 ||
      (ntohl(group_addr.s_addr) >> 16) != ((239u << 8) | 50u) ||
      port < 50000 || port > 50999 || listeners < 1 ||
      listeners > MAX_LISTENERS || max_seconds <= 0 || max_seconds > 120) {
    fprintf(stderr, "recvmmsg: refusing %s %s:%d\n", argv[1], group, port);
    return 2;
  }
  struct pollfd fds[MAX_LISTENERS + 1];
  for (int i = 0; i < listeners; i++) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr = group_addr};
    struct ip_mreq join = {.imr_multiaddr = group_addr, .imr_interface = lo};
    if (bind(fd, (struct sockaddr *)&at, sizeof at) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) < 0) {
      perror("recvmmsg: bind or join");
      return 1;
    }
    /* The machine's limit, not the default buffer's: 8 MiB, as the FFI
       transport asks (SO_RCVBUFFORCE as root, else capped by rmem_max). */
    int buffer = 8 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) < 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    fds[i + 1] = (struct pollfd){.fd = fd, .events = POLLIN};
  }
  fds[0] = (struct pollfd){.fd = 0, .events = POLLIN};

  static unsigned char data[BATCH][SLOT];
  static struct sockaddr_in from[BATCH];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i] = (struct iovec){.iov_base = data[i], .iov_len = SLOT};
  }
  unsigned char reply[11] = {0, 'M', 'S', 2, 0, 0, 0, 0, 'a', 'c', 'k'};

  long received = 0, replied = 0;
  double first_at = 0, last_at = 0, started = now(), stop_at = 0;
  char line[256];
  size_t pending = 0;
  emit("{\"event\":\"ready\"}");
  for (;;) {
    double t = now();
    if (stop_at == 0 && t - started > max_seconds) stop_at = t;
    if (stop_at != 0) {
      int idle = received == 0 || t - last_at >= 0.1;
      if (idle || t - stop_at >= 2) break;
    }
    if (poll(fds, listeners + 1, 25) <= 0) continue;
    if (fds[0].revents) {
      ssize_t n = read(0, line + pending, sizeof line - 1 - pending);
      if (n <= 0) {
        fds[0].fd = -1;
        if (stop_at == 0) stop_at = now();
      } else {
        pending += n;
        char *newline;
        while ((newline = memchr(line, '\n', pending)) != NULL) {
          *newline = 0;
          if (strncmp(line, "reset", 5) == 0) {
            received = replied = 0;
            first_at = last_at = 0;
            emit("{\"event\":\"reset\"}");
          } else if (strncmp(line, "stop", 4) == 0 && stop_at == 0) {
            stop_at = now();
          }
          size_t used = newline - line + 1;
          memmove(line, newline + 1, pending - used);
          pending -= used;
        }
        if (pending == sizeof line - 1) pending = 0;
      }
    }
    for (int s = 1; s <= listeners; s++) {
      if (!fds[s].revents) continue;
      for (;;) {
        for (int i = 0; i < BATCH; i++) {
          msgs[i].msg_hdr = (struct msghdr){
              .msg_name = &from[i], .msg_namelen = sizeof from[i],
              .msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int n = recvmmsg(fds[s].fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) break;
        double at = now();
        if (received == 0) first_at = at;
        received += n;
        last_at = at;
        if (!ack) continue;
        for (int i = 0; i < n; i++) {
          unsigned char *request = data[i];
          int framed = msgs[i].msg_len >= 8 && request[0] == 0 &&
                       request[1] == 'M' && request[2] == 'S' &&
                       request[3] == 1;
          if (framed) memcpy(reply + 4, request + 4, 4);
          sendto(fds[s].fd, framed ? reply : reply + 8, framed ? 11 : 3, 0,
                 (struct sockaddr *)&from[i], msgs[i].msg_hdr.msg_namelen);
          replied++;
        }
      }
    }
  }
  printf("{\"event\":\"report\",\"received\":%ld,\"replied\":%ld,"
         "\"seconds\":%f}\n", received, replied, last_at - first_at);
  fflush(stdout);
  return 0;
}
