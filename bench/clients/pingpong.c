/*
 * The C ping-pong client of row 2c: the same job as raw_client.ts's
 * pingpong mode, at a fraction of its cost per round trip, so that the
 * row measures the responders rather than the client.
 *
 * Usage: pingpong GROUP PORT COUNT SECONDS SIZE WARMUP
 *
 * One socket bound to 127.0.0.1 (ephemeral port), multicast out through
 * 127.0.0.1 only, TTL 0 (the datagram never leaves the host; the
 * loopback copy still reaches the responders), loop on. Sends a request
 * of SIZE bytes, waits for one reply (100 ms at most: a timeout is
 * counted and the loop goes on; more than 50 lost, warm-up included, end
 * the run), repeats.
 * WARMUP round trips first, not counted; then up to COUNT counted round
 * trips. SECONDS bounds warm-up and measurement together, as in
 * raw_client.ts. One request is outstanding at a time; after a timeout,
 * any late reply is drained before the next request.
 *
 * Refuses (exit 2) a group outside 239.50.0.0/16, a port outside
 * 50000-50999, COUNT outside 1-1,000,000, SECONDS outside (0, 60], SIZE
 * outside 1-1472, WARMUP over 100,000.
 *
 * Prints one JSON line (bench/client_protocol.ts, PingPongResult):
 * {"roundTrips":N,"timeouts":T,"seconds":S,"p50Ms":X,"p99Ms":Y}
 * with percentiles by nearest rank, as bench/stats.ts computes them.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_COUNT 1000000L
#define MAX_SECONDS 60.0
#define MAX_SIZE 1472L
#define MAX_WARMUP 100000L
#define MAX_TIMEOUTS 50L

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest rank, as bench/stats.ts percentile(): rank = ceil(p% of n). */
static double percentile(const double *sorted, long n, long p) {
  long rank = (p * n + 99) / 100;
  long index = rank - 1;
  if (index < 0) index = 0;
  if (index > n - 1) index = n - 1;
  return sorted[index];
}

static int whole(const char *text, long low, long high, long *out) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < low ||
      value > high)
    return 0;
  *out = value;
  return 1;
}

static int refuse(const char *why) {
  fprintf(stderr, "pingpong: refusing: %s\n", why);
  return 2;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: pingpong GROUP PORT COUNT SECONDS SIZE WARMUP\n");
    return 2;
  }
  struct sockaddr_in to = {.sin_family = AF_INET};
  long port, count, size, warmup;
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 ||
      (ntohl(to.sin_addr.s_addr) >> 16) != ((239u << 8) | 50u))
    return refuse("group outside 239.50.0.0/16");
  if (!whole(argv[2], 50000, 50999, &port))
    return refuse("port outside 50000-50999");
  if (!whole(argv[3], 1, MAX_COUNT, &count))
    return refuse("COUNT outside 1-1000000");
  char *end;
  double seconds = strtod(argv[4], &end);
  if (end == argv[4] || *end != '\0' || !(seconds > 0 && seconds <= MAX_SECONDS))
    return refuse("SECONDS outside (0, 60]");
  if (!whole(argv[5], 1, MAX_SIZE, &size))
    return refuse("SIZE outside 1-1472");
  if (!whole(argv[6], 0, MAX_WARMUP, &warmup))
    return refuse("WARMUP outside 0-100000");
  to.sin_port = htons((unsigned short)port);

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror("pingpong: socket");
    return 1;
  }
  struct sockaddr_in self = {.sin_family = AF_INET, .sin_port = 0};
  inet_pton(AF_INET, "127.0.0.1", &self.sin_addr);
  if (bind(fd, (struct sockaddr *)&self, sizeof self) < 0) {
    perror("pingpong: bind 127.0.0.1");
    return 1;
  }
  unsigned char ttl = 0, loop = 1;
  struct timeval timeout = {0, 100000};
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &self.sin_addr,
                 sizeof self.sin_addr) < 0 ||
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0 ||
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0) {
    perror("pingpong: setsockopt");
    return 1;
  }

  char *request = malloc((size_t)size);
  double *latencies = malloc(sizeof(double) * (size_t)count);
  if (request == NULL || latencies == NULL) {
    fprintf(stderr, "pingpong: out of memory\n");
    return 1;
  }
  memset(request, 'p', (size_t)size);
  char reply[2048];
  long done = 0, timeouts = 0, lost = 0, warmed = 0;
  double start = 0;
  const double deadline = now() + seconds;

  /* Bounded by COUNT + WARMUP requests answered, by SECONDS, and by
   * MAX_TIMEOUTS requests unanswered. */
  while (done < count && lost <= MAX_TIMEOUTS) {
    double sent_at = now();
    if (sent_at >= deadline) break;
    int measuring = warmed >= warmup;
    if (measuring && start == 0) start = sent_at;
    if (sendto(fd, request, (size_t)size, 0, (struct sockaddr *)&to,
               sizeof to) < 0) {
      perror("pingpong: sendto");
      return 1;
    }
    ssize_t got;
    do got = recv(fd, reply, sizeof reply, 0);
    while (got < 0 && errno == EINTR);
    double replied_at = now();
    if (got < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        perror("pingpong: recv");
        return 1;
      }
      lost++;
      if (measuring) timeouts++;
      else warmed++; /* a lost warm-up round trip still counts as one */
      /* A reply that comes late must not answer the next request. */
      while (recv(fd, reply, sizeof reply, MSG_DONTWAIT) >= 0) {
      }
      continue;
    }
    if (measuring) latencies[done++] = (replied_at - sent_at) * 1000.0;
    else warmed++;
  }
  if (lost > MAX_TIMEOUTS)
    fprintf(stderr, "pingpong: more than %ld timeouts, stopped\n", MAX_TIMEOUTS);
  double elapsed = start == 0 ? 0 : now() - start;
  close(fd);

  qsort(latencies, (size_t)done, sizeof(double), compare);
  printf("{\"roundTrips\":%ld,\"timeouts\":%ld,\"seconds\":%.6f,\"p50Ms\":",
         done, timeouts, elapsed);
  if (done > 0)
    printf("%.6f,\"p99Ms\":%.6f}\n", percentile(latencies, done, 50),
           percentile(latencies, done, 99));
  else
    printf("null,\"p99Ms\":null}\n");
  free(latencies);
  free(request);
  return 0;
}
