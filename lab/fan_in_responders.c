// Light responders for the fan-in test (fan_in_test.ts): one process that
// answers for many hosts of a namespace lab at once, as a thousand small
// "seed-style" responders would (receive the multicast, reply with a short
// unicast datagram), without a thousand processes.
//
// For each namespace named on the command line it enters the namespace
// (setns), opens a UDP socket there bound to GROUP:PORT, joins GROUP on eth0
// and adds a permanent ARP entry for the sender (SIOCSARP), so that every
// reply leaves at once, without an ARP exchange that would spread the
// replies out. Sockets keep their namespace after the process leaves it.
// Then it prints "ready N", answers every datagram that arrives on any of
// its sockets with "reply <index>" to the datagram's source (behind the
// request's sequence frame when it has one), and stops after
// LIFETIME seconds or on SIGTERM, printing "answered N".
//
// Usage: fan_in_responders GROUP PORT SENDER_IP SENDER_MAC LIFETIME NS...

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void stop(int signal_number) {
  (void)signal_number;
  stopping = 1;
}

static void fail(const char *what, const char *ns) {
  fprintf(stderr, "fan_in_responders: %s in %s: %s\n", what, ns,
          strerror(errno));
  exit(1);
}

/** Opens the responder socket of namespace `ns`. */
static int open_in(const char *ns, struct in_addr group, int port,
                   struct in_addr sender, const unsigned char mac[6]) {
  char path[512];
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) fail("open namespace", ns);
  if (setns(nsfd, CLONE_NEWNET) != 0) fail("setns", ns);
  close(nsfd);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket", ns);
  struct sockaddr_in local = {.sin_family = AF_INET,
                              .sin_port = htons(port),
                              .sin_addr = group};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
    fail("bind", ns);
  }
  struct ip_mreqn join = {.imr_multiaddr = group,
                          .imr_ifindex = (int)if_nametoindex("eth0")};
  if (join.imr_ifindex == 0) fail("if_nametoindex eth0", ns);
  if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) != 0) {
    fail("IP_ADD_MEMBERSHIP", ns);
  }
  struct arpreq arp;
  memset(&arp, 0, sizeof arp);
  struct sockaddr_in *pa = (struct sockaddr_in *)&arp.arp_pa;
  pa->sin_family = AF_INET;
  pa->sin_addr = sender;
  arp.arp_ha.sa_family = ARPHRD_ETHER;
  memcpy(arp.arp_ha.sa_data, mac, 6);
  arp.arp_flags = ATF_PERM | ATF_COM;
  strncpy(arp.arp_dev, "eth0", sizeof arp.arp_dev - 1);
  if (ioctl(fd, SIOCSARP, &arp) != 0) fail("SIOCSARP", ns);
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr,
            "usage: fan_in_responders GROUP PORT SENDER_IP SENDER_MAC "
            "LIFETIME NS...\n");
    return 2;
  }
  struct in_addr group, sender;
  unsigned char mac[6];
  int port = atoi(argv[2]);
  int lifetime = atoi(argv[5]);
  if (inet_pton(AF_INET, argv[1], &group) != 1 ||
      inet_pton(AF_INET, argv[3], &sender) != 1 || port < 1 || port > 65535 ||
      lifetime < 1 || lifetime > 3600 ||
      sscanf(argv[4], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
             &mac[2], &mac[3], &mac[4], &mac[5]) != 6) {
    fprintf(stderr, "fan_in_responders: bad arguments\n");
    return 2;
  }
  int count = argc - 6;
  struct pollfd *fds = calloc((size_t)count, sizeof *fds);
  if (fds == NULL) return 1;
  for (int i = 0; i < count; i++) {
    fds[i].fd = open_in(argv[6 + i], group, port, sender, mac);
    fds[i].events = POLLIN;
  }
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  printf("ready %d\n", count);
  fflush(stdout);
  time_t end = time(NULL) + lifetime;
  long answered = 0;
  while (!stopping && time(NULL) < end) {
    int ready = poll(fds, (nfds_t)count, 200);
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; ready > 0 && i < count; i++) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      char buffer[2048];
      struct sockaddr_in from;
      socklen_t size = sizeof from;
      ssize_t got;
      while ((got = recvfrom(fds[i].fd, buffer, sizeof buffer, 0,
                             (struct sockaddr *)&from, &size)) >= 0) {
        char reply[40];
        // A numbered request (send --seq: NUL "MS" 0x01, uint32 number)
        // gets its number back in a reply frame (0x02), as mcast's
        // listeners answer, so the sender can match and time it.
        int framed = got >= 8 && memcmp(buffer, "\0MS\x01", 4) == 0;
        if (framed) {
          memcpy(reply, "\0MS\x02", 4);
          memcpy(reply + 4, buffer + 4, 4);
        }
        int head = framed ? 8 : 0;
        int length = head + snprintf(reply + head, sizeof reply - 8,
                                     "reply %d", i);
        if (sendto(fds[i].fd, reply, (size_t)length, 0,
                   (struct sockaddr *)&from, size) == length) {
          answered++;
        }
        size = sizeof from;
      }
    }
  }
  printf("answered %ld\n", answered);
  return 0;
}
