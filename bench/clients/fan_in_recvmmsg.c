/*
 * Fan-in sender, the machine's limit (bench row fan-in-hosts,
 * bench/rows/fan_in_hosts.ts): sends ONE request to the group (TTL 1, out
 * of INTERFACE_ADDRESS) from a socket with an 8 MiB receive buffer
 * (SO_RCVBUFFORCE as root, else SO_RCVBUF capped by rmem_max), then
 * collects the replies with recvmmsg(2), 64 at a time, until WINDOW_MS
 * after the send. Prints one JSON line:
 *
 *   {"replies":N,"responders":M,"kernelDrops":D,"lastReplyMs":T}
 *
 * responders: distinct source addresses; kernelDrops: replies the kernel
 * dropped at the socket (SO_RXQ_OVFL); lastReplyMs: from just before the
 * send to the last reply (-1 without replies).
 *
 *   fan_in_recvmmsg GROUP PORT INTERFACE_ADDRESS WINDOW_MS
 *
 * Groups outside 239.50.0.0/16, ports outside 50000-50999 and windows over
 * 60 s are refused. bench/c_program.ts compiles it at run time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BATCH = 64, SLOT = 2048, MAX_SOURCES = 65536 };

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Distinct sources, by the address's last 16 bits (one /16 in the lab). */
static unsigned char seen[MAX_SOURCES];

/* The socket: 8 MiB buffer, drop counter on, TTL 1, out of `interface`. */
static int open_socket(struct in_addr interface) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror("fan_in_recvmmsg: socket");
    exit(1);
  }
  int buffer = 8 << 20, one = 1;
  unsigned char ttl = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0 ||
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &interface,
                 sizeof interface) < 0) {
    perror("fan_in_recvmmsg: multicast options");
    exit(1);
  }
  return fd;
}

/* The kernel's drop counter in a message's control data, or -1. */
static long drops_of(struct msghdr *header) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(header); c != NULL;
       c = CMSG_NXTHDR(header, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
      uint32_t count;
      memcpy(&count, CMSG_DATA(c), sizeof count);
      return (long)count;
    }
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr,
            "usage: fan_in_recvmmsg GROUP PORT INTERFACE_ADDRESS WINDOW_MS\n");
    return 2;
  }
  struct in_addr group, interface;
  int port = atoi(argv[2]);
  int window_ms = atoi(argv[4]);
  if (inet_pton(AF_INET, argv[1], &group) != 1 ||
      (ntohl(group.s_addr) >> 16) != ((239u << 8) | 50u) || port < 50000 ||
      port > 50999 || inet_pton(AF_INET, argv[3], &interface) != 1 ||
      window_ms < 1 || window_ms > 60000) {
    fprintf(stderr, "fan_in_recvmmsg: refusing %s:%s via %s for %s ms\n",
            argv[1], argv[2], argv[3], argv[4]);
    return 2;
  }
  int fd = open_socket(interface);
  static char data[BATCH][SLOT];
  static char control[BATCH][CMSG_SPACE(sizeof(uint32_t))];
  struct sockaddr_in from[BATCH];
  struct iovec iov[BATCH];
  struct mmsghdr messages[BATCH];
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port),
                           .sin_addr = group};
  const char request[] = "fan-in";
  double sent_at = now_ms();
  if (sendto(fd, request, sizeof request - 1, 0, (struct sockaddr *)&to,
             sizeof to) < 0) {
    perror("fan_in_recvmmsg: sendto");
    return 1;
  }
  double end = sent_at + window_ms, last = -1;
  long replies = 0, responders = 0, drops = 0;
  struct pollfd poller = {.fd = fd, .events = POLLIN};
  for (double at = now_ms(); at < end; at = now_ms()) {
    if (poll(&poller, 1, (int)(end - at) + 1) <= 0) continue;
    for (int i = 0; i < BATCH; i++) {
      iov[i] = (struct iovec){.iov_base = data[i], .iov_len = SLOT};
      messages[i].msg_hdr = (struct msghdr){
          .msg_name = &from[i], .msg_namelen = sizeof from[i],
          .msg_iov = &iov[i], .msg_iovlen = 1, .msg_control = control[i],
          .msg_controllen = sizeof control[i]};
    }
    int got = recvmmsg(fd, messages, BATCH, MSG_DONTWAIT, NULL);
    if (got <= 0) continue;
    last = now_ms() - sent_at;
    replies += got;
    for (int i = 0; i < got; i++) {
      uint32_t low = ntohl(from[i].sin_addr.s_addr) & 0xffffu;
      if (!seen[low]) {
        seen[low] = 1;
        responders++;
      }
      long counted = drops_of(&messages[i].msg_hdr);
      if (counted > drops) drops = counted;
    }
  }
  printf("{\"replies\":%ld,\"responders\":%ld,\"kernelDrops\":%ld,"
         "\"lastReplyMs\":%.3f}\n",
         replies, responders, drops, last);
  close(fd);
  return 0;
}
