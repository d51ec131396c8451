"""Baseline responder of row 2p: the origin Python example's receiver
(a blocking socket, recvfrom(1024), sendto(b"ack")), the responder a
Python user would write. Speaks the protocol of
bench/receiver_protocol.ts:

  python3 python_seed.py MODE GROUP PORT MAX_SECONDS LISTENERS

MODE sink counts; MODE ack answers b"ack" to the sender. One socket
(LISTENERS must be 1), bound to GROUP:PORT, joined on 127.0.0.1 only.

The socket stays blocking, as in the example: one recvfrom per datagram,
no select. SO_RCVTIMEO (25 ms) wakes it when nothing comes, so the loop
sees the commands a thread reads from standard input (reset, stop).
"""
import json
import socket
import struct
import sys
import threading
import time

LOOPBACK = "127.0.0.1"


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Commands:
    """What standard input asked for, set by the reading thread."""

    def __init__(self):
        self.reset = threading.Event()
        self.stop = threading.Event()

    def read(self):
        for line in sys.stdin:
            line = line.strip()
            if line == "reset":
                self.reset.set()
            elif line == "stop":
                self.stop.set()
        self.stop.set()


def main():
    mode, group, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    max_seconds, listeners = float(sys.argv[4]), int(sys.argv[5])
    if mode not in ("sink", "ack") or not group.startswith("239.50.") \
            or not 50000 <= port <= 50999 or listeners != 1:
        sys.exit(f"python_seed.py: refusing {mode} {group}:{port} x{listeners}")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((group, port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton(group) + socket.inet_aton(LOOPBACK))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 25_000))
    commands = Commands()
    threading.Thread(target=commands.read, daemon=True).start()
    clock = time.perf_counter
    reply = mode == "ack"
    received = replied = 0
    first_at = last_at = 0.0
    started = clock()
    stop_at = None
    emit({"event": "ready"})
    while True:
        try:
            _, sender = s.recvfrom(1024)
        except BlockingIOError:
            sender = None
        now = clock()
        if sender is not None:
            if reply:
                s.sendto(b"ack", sender)
                replied += 1
            if received == 0:
                first_at = now
            received += 1
            last_at = now
        if commands.reset.is_set():
            commands.reset.clear()
            received = replied = 0
            first_at = last_at = 0.0
            emit({"event": "reset"})
        if stop_at is None and (commands.stop.is_set() or now - started > max_seconds):
            stop_at = now
        if stop_at is not None:
            idle = received == 0 or now - last_at >= 0.1
            if idle or now - stop_at >= 2:
                break
    s.close()
    emit({"event": "report", "received": received, "replied": replied,
          "seconds": last_at - first_at})


main()
