"""Fan-in sender, seed-style (bench row fan-in-hosts,
bench/rows/fan_in_hosts.ts): a plain Python socket with the kernel's
default receive buffer sends ONE request to the group (TTL 1, out of
INTERFACE_ADDRESS), then calls recvfrom until WINDOW_MS after the send.
Prints one JSON line:

  {"replies": N, "responders": M, "lastReplyMs": T}

responders: distinct source addresses; lastReplyMs: from just before the
send to the last reply (-1 without replies).

  python3 fan_in_socket.py GROUP PORT INTERFACE_ADDRESS WINDOW_MS

Groups outside 239.50.0.0/16, ports outside 50000-50999 and windows over
60 s are refused.
"""
import json
import socket
import sys
import time


def main():
    group, port = sys.argv[1], int(sys.argv[2])
    interface, window_ms = sys.argv[3], int(sys.argv[4])
    if not group.startswith("239.50.") or not 50000 <= port <= 50999 \
            or not 0 < window_ms <= 60000:
        sys.exit(f"fan_in_socket.py: refusing {group}:{port} for {window_ms} ms")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                 socket.inet_aton(interface))
    clock = time.perf_counter
    sent_at = clock()
    s.sendto(b"fan-in", (group, port))
    end = sent_at + window_ms / 1000
    replies = 0
    responders = set()
    last = -1.0
    while True:
        remaining = end - clock()
        if remaining <= 0:
            break
        s.settimeout(remaining)
        try:
            _, source = s.recvfrom(2048)
        except socket.timeout:
            break
        replies += 1
        responders.add(source[0])
        last = (clock() - sent_at) * 1000
    s.close()
    print(json.dumps({"replies": replies, "responders": len(responders),
                      "lastReplyMs": last}))


main()
