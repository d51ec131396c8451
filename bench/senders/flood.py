"""Bench flooder, the fallback when gcc is missing: sends COUNT datagrams
of SIZE bytes to GROUP:PORT as fast as a Python loop can, for at most
SECONDS, then prints {"sent": N, "seconds": S}. With RATE > 0 it is
paced instead: every millisecond (absolute deadlines) it sends what brings
the total to RATE x elapsed ms / 1000, as flood.c does. Loopback only: binds
127.0.0.1, IP_MULTICAST_IF 127.0.0.1, TTL 0; refuses groups outside
239.50.0.0/16 and ports outside 50000-50999.

Usage: python3 flood.py GROUP PORT COUNT SIZE SECONDS [RATE]
"""
import json
import socket
import sys
import time


def main():
    group, port = sys.argv[1], int(sys.argv[2])
    count, size, seconds = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    rate = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    if not group.startswith("239.50.") or not 50000 <= port <= 50999:
        sys.exit(f"flood.py: refusing {group}:{port}")
    if not (12 <= size <= 1472 and 0 < seconds <= 60 and count >= 0 and 0 <= rate <= 10_000_000):
        sys.exit("flood.py: bad count, size or seconds")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    to = (group, port)
    pad = b"x" * (size - 8)
    send, clock = s.sendto, time.perf_counter
    sent, start = 0, clock()
    if rate > 0:
        tick = 0
        while sent < count and clock() - start < seconds:
            due = min(count, rate * (tick + 1) // 1000)
            while sent < due:
                send(b"%08x" % (sent & 0xFFFFFFFF) + pad, to)
                sent += 1
            tick += 1
            pause = start + tick / 1000 - clock()
            if pause > 0:
                time.sleep(pause)
    while rate == 0 and sent < count:
        if (sent & 1023) == 0 and clock() - start > seconds:
            break
        send(b"%08x" % (sent & 0xFFFFFFFF) + pad, to)
        sent += 1
    print(json.dumps({"sent": sent, "seconds": clock() - start}))


main()
