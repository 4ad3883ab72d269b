#!/usr/bin/python3
"""dnsd.py - a DNS listener that writes down every question it is asked.

    dnsd.py ADDR PORT LOG [NAME=IPV4 ...]

Listens on UDP and TCP ADDR:PORT. Each question is appended to LOG as one
line, "QTYPE NAME" (lower-cased, no trailing dot), before it is answered:
an A record for a NAME given on the command line, no data (NOERROR, empty)
for its other types, NXDOMAIN for every other name. Prints "ready" once
both sockets listen. A test proves a name never reached local DNS by
finding no line for it.
"""
import socket
import struct
import sys
import threading

QTYPES = {1: "A", 28: "AAAA", 5: "CNAME", 12: "PTR", 15: "MX", 16: "TXT", 33: "SRV", 65: "HTTPS"}


def parse_question(msg):
    """(id, flags, name, qtype, end of question) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd < 1:
        return None
    labels, i = [], 12
    while True:
        if i >= len(msg):
            return None
        n = msg[i]
        i += 1
        if n == 0:
            break
        if n > 63 or i + n > len(msg):
            return None
        labels.append(msg[i:i + n].decode("ascii", "replace"))
        i += n
    if i + 4 > len(msg):
        return None
    qtype, _qclass = struct.unpack("!HH", msg[i:i + 4])
    return qid, flags, ".".join(labels).lower(), qtype, i + 4


def answer(msg, zone, log, lock):
    q = parse_question(msg)
    if not q:
        return None
    qid, flags, name, qtype, end = q
    with lock:
        with open(log, "a") as f:
            f.write("%s %s\n" % (QTYPES.get(qtype, str(qtype)), name))
    question = msg[12:end]
    rd = flags & 0x0100
    if name in zone:
        rcode = 0
        answers = b""
        count = 0
        if qtype == 1:
            answers = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) +
                       socket.inet_aton(zone[name]))
            count = 1
    else:
        rcode, answers, count = 3, b"", 0
    header = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1, count, 0, 0)
    return header + question + answers


def serve_udp(sock, zone, log, lock):
    while True:
        msg, peer = sock.recvfrom(4096)
        reply = answer(msg, zone, log, lock)
        if reply:
            sock.sendto(reply, peer)


def serve_tcp(sock, zone, log, lock):
    while True:
        conn, _ = sock.accept()
        with conn:
            conn.settimeout(5)
            try:
                head = conn.recv(2)
                if len(head) < 2:
                    continue
                (n,) = struct.unpack("!H", head)
                msg = b""
                while len(msg) < n:
                    part = conn.recv(n - len(msg))
                    if not part:
                        break
                    msg += part
                reply = answer(msg, zone, log, lock)
                if reply:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                pass


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: dnsd.py ADDR PORT LOG [NAME=IPV4 ...]")
    addr, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    zone = {}
    for kv in sys.argv[4:]:
        k, v = kv.split("=", 1)
        zone[k.lower().rstrip(".")] = v
    open(log, "a").close()
    lock = threading.Lock()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, port))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, port))
    t.listen(16)
    threading.Thread(target=serve_tcp, args=(t, zone, log, lock), daemon=True).start()
    print("ready", flush=True)
    serve_udp(u, zone, log, lock)


if __name__ == "__main__":
    main()
