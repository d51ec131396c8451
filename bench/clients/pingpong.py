"""The Python ping-pong client of row 2p: the origin Python example's
sender in a loop (a blocking socket with a timeout: send a request, wait
for its reply, repeat), the client a Python user would write.

Usage: python3 pingpong.py GROUP PORT COUNT SECONDS SIZE WARMUP

The same job and limits as clients/pingpong.c: one socket bound to
127.0.0.1 (ephemeral port), multicast out through 127.0.0.1 only, TTL 0
(the datagram never leaves the host; the loopback copy still reaches the
responders), loop on. Waits 100 ms at most for each reply (a timeout is
counted and the loop goes on; more than 50 lost, warm-up included, end the
run). WARMUP round trips first, not counted; then up to COUNT counted;
SECONDS bounds both together. After a timeout, a late reply is drained
before the next request.

Refuses (exit 2) a group outside 239.50.0.0/16, a port outside
50000-50999, COUNT outside 1-1,000,000, SECONDS outside (0, 60], SIZE
outside 1-1472, WARMUP over 100,000.

Prints one JSON line (bench/client_protocol.ts, PingPongResult):
{"roundTrips":N,"timeouts":T,"seconds":S,"p50Ms":X,"p99Ms":Y}
with percentiles by nearest rank, as bench/stats.ts computes them.
"""
import json
import math
import socket
import sys
import time

LOOPBACK = "127.0.0.1"
MAX_TIMEOUTS = 50


def refuse(why):
    sys.stderr.write(f"pingpong.py: refusing: {why}\n")
    sys.exit(2)


def whole(text, low, high, what):
    try:
        value = int(text)
    except ValueError:
        refuse(what)
    if not low <= value <= high:
        refuse(what)
    return value


def percentile(ordered, p):
    index = min(max(math.ceil(p * len(ordered) / 100) - 1, 0), len(ordered) - 1)
    return ordered[index]


def main():
    if len(sys.argv) != 7:
        sys.stderr.write("usage: pingpong.py GROUP PORT COUNT SECONDS SIZE WARMUP\n")
        sys.exit(2)
    group = sys.argv[1]
    try:
        packed = socket.inet_aton(group)
    except OSError:
        refuse("group outside 239.50.0.0/16")
    if packed[:2] != bytes([239, 50]) or group.count(".") != 3:
        refuse("group outside 239.50.0.0/16")
    port = whole(sys.argv[2], 50000, 50999, "port outside 50000-50999")
    count = whole(sys.argv[3], 1, 1_000_000, "COUNT outside 1-1000000")
    try:
        seconds = float(sys.argv[4])
    except ValueError:
        refuse("SECONDS outside (0, 60]")
    if not 0 < seconds <= 60:
        refuse("SECONDS outside (0, 60]")
    size = whole(sys.argv[5], 1, 1472, "SIZE outside 1-1472")
    warmup = whole(sys.argv[6], 0, 100_000, "WARMUP outside 0-100000")

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOOPBACK, 0))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LOOPBACK))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    s.settimeout(0.1)
    request = b"p" * size
    destination = (group, port)
    clock = time.perf_counter
    latencies = []
    timeouts = lost = warmed = 0
    start = 0.0
    deadline = clock() + seconds
    # Bounded by COUNT + WARMUP requests answered, by SECONDS, and by
    # MAX_TIMEOUTS requests unanswered.
    while len(latencies) < count and lost <= MAX_TIMEOUTS:
        sent_at = clock()
        if sent_at >= deadline:
            break
        measuring = warmed >= warmup
        if measuring and start == 0.0:
            start = sent_at
        s.sendto(request, destination)
        try:
            s.recv(2048)
        except socket.timeout:
            lost += 1
            if measuring:
                timeouts += 1
            else:
                warmed += 1
            s.setblocking(False)
            try:
                while True:
                    s.recv(2048)
            except BlockingIOError:
                pass
            s.settimeout(0.1)
            continue
        replied_at = clock()
        if measuring:
            latencies.append((replied_at - sent_at) * 1000.0)
        else:
            warmed += 1
    if lost > MAX_TIMEOUTS:
        sys.stderr.write(f"pingpong.py: more than {MAX_TIMEOUTS} timeouts, stopped\n")
    elapsed = 0.0 if start == 0.0 else clock() - start
    s.close()
    latencies.sort()
    print(json.dumps({
        "roundTrips": len(latencies),
        "timeouts": timeouts,
        "seconds": elapsed,
        "p50Ms": percentile(latencies, 50) if latencies else None,
        "p99Ms": percentile(latencies, 99) if latencies else None,
    }, separators=(",", ":")))


main()
