/*
 * Bench flooder: sends COUNT datagrams of SIZE bytes to GROUP:PORT as fast
 * as sendmmsg(2) allows (batches of 64), for at most SECONDS, then prints
 * {"sent":N,"seconds":S} on stdout. With RATE > 0 it is paced instead:
 * every millisecond (absolute deadlines, clock_nanosleep TIMER_ABSTIME)
 * it sends what brings the total to RATE x elapsed ms / 1000 (50 a tick
 * at 50,000/s), so the rate does not drift when a tick is late.
 * Loopback only: it binds 127.0.0.1, sends through IP_MULTICAST_IF
 * 127.0.0.1 with TTL 0 (the datagrams are looped back to this host and
 * never leave it) and refuses groups outside 239.50.0.0/16 and ports
 * outside 50000-50999.
 *
 * The payload is ASCII (an 8-digit hex sequence number, then 'x'), so a
 * text codec decodes it.
 *
 * With --segments, each batch leaves as one UDP GSO send (UDP_SEGMENT,
 * Linux 4.18+): the kernel cuts it into datagrams of SIZE bytes, each
 * with its own header, as the sendmmsg batch would have been, but routes
 * and loops back one buffer instead of 64. On loopback the sender's CPU
 * does the receivers' delivery too (the softirq runs in its system
 * call): a 2-core VM here sent ~200k 64-byte datagrams a second with
 * sendmmsg and ~800k with --segments, enough to flood a receiver that
 * takes more than a microsecond a datagram. Where the kernel refuses
 * UDP_SEGMENT it falls back to sendmmsg and says so ("segmented":false).
 *
 * Usage: flood [--segments] GROUP PORT COUNT SIZE SECONDS [RATE]
 * Prints {"sent":N,"seconds":S,"segmented":true|false}.
 * bench/flooder.ts compiles it into a temporary directory at run time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

enum { BATCH = 64, MAX_SIZE = 1472, MAX_GSO_BYTES = 65507 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* One GSO send of n datagrams of size bytes, laid end to end in buffer;
   returns n, or -1 with errno set. */
static int send_segmented(int fd, const struct sockaddr_in *to,
                          unsigned char *buffer, int n, int size) {
  struct iovec one = {.iov_base = buffer, .iov_len = (size_t)n * size};
  union {
    char bytes[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr message = {.msg_name = (void *)to,
                           .msg_namelen = sizeof *to,
                           .msg_iov = &one,
                           .msg_iovlen = 1,
                           .msg_control = control.bytes,
                           .msg_controllen = sizeof control.bytes};
  struct cmsghdr *header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_UDP;
  header->cmsg_type = UDP_SEGMENT;
  header->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  uint16_t segment = (uint16_t)size;
  memcpy(CMSG_DATA(header), &segment, sizeof segment);
  return sendmsg(fd, &message, 0) < 0 ? -1 : n;
}

/* Whether a failed GSO send means the kernel cannot segment here. */
static int unsupported(int error) {
  return error == EINVAL || error == ENOPROTOOPT || error == EOPNOTSUPP ||
         error == EIO;
}

int main(int argc, char **argv) {
  int segmented = argc > 1 && strcmp(argv[1], "--segments") == 0;
  if (segmented) {
    argc--;
    argv++;
  }
  if (argc != 6 && argc != 7) {
    fprintf(stderr,
            "usage: flood [--segments] GROUP PORT COUNT SIZE SECONDS [RATE]\n");
    return 2;
  }
  const char *group = argv[1];
  int port = atoi(argv[2]);
  long count = atol(argv[3]);
  int size = atoi(argv[4]);
  double seconds = atof(argv[5]);
  long rate = argc == 7 ? atol(argv[6]) : 0;
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, group, &to.sin_addr) != 1 ||
      (ntohl(to.sin_addr.s_addr) >> 16) != ((239u << 8) | 50u) ||
      port < 50000 || port > 50999) {
    fprintf(stderr, "flood: refusing %s:%d (bench range is 239.50.0.0/16, "
                    "ports 50000-50999)\n", group, port);
    return 2;
  }
  if (count < 0 || size < 12 || size > MAX_SIZE || seconds <= 0 ||
      seconds > 60 || rate < 0 || rate > 10000000) {
    fprintf(stderr,
            "flood: bad count, size (12-%d), seconds (0-60] or rate\n",
            MAX_SIZE);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in self = {.sin_family = AF_INET};
  inet_pton(AF_INET, "127.0.0.1", &self.sin_addr);
  if (fd < 0 || bind(fd, (struct sockaddr *)&self, sizeof self) < 0) {
    perror("flood: bind 127.0.0.1");
    return 1;
  }
  unsigned char ttl = 0, loop = 1;
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &self.sin_addr,
                 sizeof self.sin_addr) < 0 ||
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0 ||
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) < 0) {
    perror("flood: setsockopt");
    return 1;
  }
  static unsigned char data[BATCH][MAX_SIZE];
  static unsigned char laid[BATCH * MAX_SIZE];
  int batch = BATCH;
  if (segmented && batch * size > MAX_GSO_BYTES) batch = MAX_GSO_BYTES / size;
  memset(laid, 'x', sizeof laid);
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  memset(data, 'x', sizeof data);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = data[i];
    iov[i].iov_len = size;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long sent = 0;
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  long tick = 0;
  double start = now();
  while (sent < count && now() - start < seconds) {
    long limit = count;
    if (rate > 0) {
      /* Due by the end of this tick: RATE x (tick + 1) / 1000. */
      long due = (long)((double)rate * (tick + 1) / 1000.0);
      if (due < limit) limit = due;
      if (sent >= limit) {
        tick++;
        deadline.tv_nsec += 1000000;
        if (deadline.tv_nsec >= 1000000000) {
          deadline.tv_nsec -= 1000000000;
          deadline.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline,
                               NULL) == EINTR) {
        }
        continue;
      }
    }
    int n = limit - sent < batch ? (int)(limit - sent) : batch;
    for (int i = 0; i < n; i++) {
      char digits[9];
      snprintf(digits, sizeof digits, "%08lx", (sent + i) & 0xffffffffL);
      memcpy(segmented ? laid + (size_t)i * size : data[i], digits, 8);
    }
    int r = segmented ? send_segmented(fd, &to, laid, n, size)
                      : sendmmsg(fd, msgs, n, 0);
    if (r < 0 && segmented && sent == 0 && unsupported(errno)) {
      segmented = 0;
      batch = BATCH;
      continue;
    }
    if (r < 0) {
      perror(segmented ? "flood: sendmsg (UDP_SEGMENT)" : "flood: sendmmsg");
      return 1;
    }
    sent += r;
  }
  printf("{\"sent\":%ld,\"seconds\":%f,\"segmented\":%s}\n", sent,
         now() - start, segmented ? "true" : "false");
  return 0;
}
