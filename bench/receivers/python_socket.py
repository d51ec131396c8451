"""Baseline receiver: a plain Python socket loop (non-blocking sockets and
selectors; recvfrom until EAGAIN on each wake-up). Speaks the protocol of
bench/receiver_protocol.ts:

  python3 python_socket.py MODE GROUP PORT MAX_SECONDS LISTENERS

MODE sink counts; MODE ack answers b"ack" to the sender. Sockets bind
GROUP:PORT and join on 127.0.0.1 only.
"""
import json
import os
import selectors
import socket
import sys
import time

LOOPBACK = "127.0.0.1"


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main():
    mode, group, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    max_seconds, listeners = float(sys.argv[4]), int(sys.argv[5])
    if mode not in ("sink", "ack") or not group.startswith("239.50.") or not 50000 <= port <= 50999:
        sys.exit(f"python_socket.py: refusing {mode} {group}:{port}")
    clock = time.perf_counter
    selector = selectors.DefaultSelector()
    sockets = []
    for _ in range(listeners):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((group, port))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                     socket.inet_aton(group) + socket.inet_aton(LOOPBACK))
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
        sockets.append(s)
    stdin_fd = sys.stdin.fileno()
    selector.register(stdin_fd, selectors.EVENT_READ)
    ack = b"ack"
    reply = mode == "ack"
    received = replied = 0
    first_at = last_at = 0.0
    started = clock()
    stop_at = None
    pending = b""
    emit({"event": "ready"})
    while True:
        now = clock()
        if stop_at is None and now - started > max_seconds:
            stop_at = now
        if stop_at is not None:
            idle = received == 0 or now - last_at >= 0.1
            if idle or now - stop_at >= 2:
                break
        for key, _ in selector.select(0.025):
            target = key.fileobj
            if target == stdin_fd:
                chunk = os.read(target, 4096)
                if not chunk:
                    selector.unregister(target)
                    stop_at = stop_at or clock()
                    continue
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    line = line.strip()
                    if line == b"reset":
                        received = replied = 0
                        first_at = last_at = 0.0
                        emit({"event": "reset"})
                    elif line == b"stop":
                        stop_at = stop_at or clock()
                continue
            recvfrom, sendto = target.recvfrom, target.sendto
            while True:
                try:
                    _, sender = recvfrom(2048)
                except BlockingIOError:
                    break
                now = clock()
                if received == 0:
                    first_at = now
                received += 1
                last_at = now
                if reply:
                    sendto(ack, sender)
                    replied += 1
    for s in sockets:
        s.close()
    emit({"event": "report", "received": received, "replied": replied,
          "seconds": last_at - first_at})


main()
