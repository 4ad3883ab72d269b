#!/usr/bin/python3
"""slowdns.py - a DNS server on UDP for socks4d's SOCKS 4A tests.

  slowdns.py ADDR PORT DELAY

Names that start with "slow." get an A record, 127.0.0.1, DELAY seconds
after the question (each answer in its own thread, so one slow answer holds
up no other); every other name gets NXDOMAIN at once. Prints "listening",
then "query NAME TYPE" for each question, so a test can tell which names
reached DNS. Standard library only.
"""

import socket
import struct
import sys
import threading
import time

TYPE_A = 1
NXDOMAIN = 3


def out(line):
    print(line, flush=True)


def question(msg):
    """(name, qtype, end offset of the question) or None."""
    if len(msg) < 12 or struct.unpack("!H", msg[4:6])[0] != 1:
        return None
    labels, i = [], 12
    while i < len(msg) and msg[i]:
        n = msg[i]
        if n > 63 or i + 1 + n > len(msg):
            return None
        labels.append(msg[i + 1 : i + 1 + n].decode("latin-1"))
        i += 1 + n
    if i + 5 > len(msg):
        return None
    qtype = struct.unpack("!H", msg[i + 1 : i + 3])[0]
    return ".".join(labels).lower(), qtype, i + 5


def answer(msg, end, rcode, addr=None):
    """The reply to msg: its id and question, flags QR RD RA and rcode."""
    flags = 0x8180 | rcode
    an = 1 if addr else 0
    head = msg[:2] + struct.pack("!HHHHH", flags, 1, an, 0, 0)
    rr = b""
    if addr:
        rr = struct.pack("!HHHIH", 0xC00C, TYPE_A, 1, 0, 4) + socket.inet_aton(addr)
    return head + msg[12:end] + rr


def later(sock, peer, reply, delay):
    time.sleep(delay)
    sock.sendto(reply, peer)


def main():
    addr, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((addr, port))
    out("listening")
    while True:
        msg, peer = sock.recvfrom(4096)
        q = question(msg)
        if not q:
            continue
        name, qtype, end = q
        out("query %s %d" % (name, qtype))
        if name.startswith("slow."):
            reply = answer(msg, end, 0, "127.0.0.1" if qtype == TYPE_A else None)
            threading.Thread(target=later, args=(sock, peer, reply, delay),
                             daemon=True).start()
        else:
            sock.sendto(answer(msg, end, NXDOMAIN), peer)


if __name__ == "__main__":
    main()
