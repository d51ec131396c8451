#!/usr/bin/env python3
"""Requests from many source addresses in turn, for the long-run bench row.

Sends RATE UDP datagrams a second to GROUP:PORT out of the interface with
address IFACE, each from the next of SOURCES addresses starting at FIRST
(10.77.64.0, 10.77.64.1, ... and round again), for SECONDS at most: a
listener sees SOURCES distinct senders, each coming back every SOURCES / RATE
seconds, as a responder on a busy segment would. The source addresses are
written into the IP header (a raw socket), so the sending namespace needs no
address of them; the listener routes its replies back through this host,
which drops them (it does not own those addresses).

Network safety: run it only inside a namespace of the lab (bench/rows/
long_run.ts does); it refuses sources and interfaces outside 10.77.0.0/16
and groups outside 239.0.0.0/8, sends TTL 1, and stops after SECONDS and
RATE x SECONDS datagrams.

Usage: rotating_sources.py GROUP PORT IFACE FIRST SOURCES RATE SECONDS
Prints one JSON line: {"sent": N, "seconds": S}.
"""

import ipaddress
import json
import socket
import struct
import sys
import time

LAB = ipaddress.ip_network("10.77.0.0/16")
PAYLOAD = b"long-run request"
SOURCE_PORT = 40000


def checked(argv):
    group, port, iface, first, sources, rate, seconds = argv
    group = ipaddress.ip_address(group)
    iface = ipaddress.ip_address(iface)
    first = ipaddress.ip_address(first)
    sources, rate, seconds = int(sources), float(rate), float(seconds)
    last = first + (sources - 1)
    if group not in ipaddress.ip_network("239.0.0.0/8"):
        raise SystemExit(f"group {group} outside 239.0.0.0/8")
    if iface not in LAB or first not in LAB or last not in LAB:
        raise SystemExit(f"addresses outside the lab range {LAB}")
    if not (0 < rate <= 100_000 and 0 < seconds <= 3600 and sources >= 1):
        raise SystemExit("rate, seconds or sources out of range")
    return group, int(port), iface, first, sources, rate, seconds


def header(source, group, port, payload):
    """An IPv4 header (TTL 1, checksum filled in by the kernel) and a UDP header (no checksum)."""
    total = 20 + 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 1, socket.IPPROTO_UDP, 0,
                     source, group)
    udp = struct.pack("!HHHH", SOURCE_PORT, port, 8 + len(payload), 0)
    return ip + udp


def main():
    group, port, iface, first, sources, rate, seconds = checked(sys.argv[1:])
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, iface.packed)
    packets = [header((first + i).packed, group.packed, port, PAYLOAD) + PAYLOAD
               for i in range(sources)]
    limit = int(rate * seconds)
    start = time.monotonic()
    sent = 0
    while sent < limit:
        due = start + sent / rate
        now = time.monotonic()
        if now - start >= seconds:
            break
        if due > now:
            time.sleep(due - now)
        try:
            sock.sendto(packets[sent % sources], (str(group), 0))
        except OSError:
            pass  # a full queue: counted as not sent
        else:
            sent += 1
    print(json.dumps({"sent": sent, "seconds": time.monotonic() - start}))


if __name__ == "__main__":
    main()
