#!/usr/bin/python3
"""s4client.py - a raw SOCKS4 client and an echo server for socks4d's tests.

Standard library only; every socket wait is bounded (--timeout, 5 s).

  s4client.py echo PORTFILE             echo server: logs "peer IP:PORT" per
                                        connection, echoes, and on EOF sends
                                        "bye\\n" and closes
  s4client.py connect PROXYPORT DST [options]   (DST NAME:PORT: SOCKS 4A)
  s4client.py bind PROXYPORT DST [options]
  s4client.py probe IP:PORT             prints "connected" or "refused"

connect and bind print one line per thing seen, in order:
  reply VN CD IP:PORT     a whole 8-byte reply
  short HEX               fewer than 8 reply bytes before the end
  reply-ms N              (--timing) ms from request to whole reply
  reply-chunks N          (--timing) recv() calls it took
  data TEXT               bytes relayed to the client (escaped, one line)
  eof | reset | timeout   how the client's connection ended
bind adds inbound-local IP:PORT, inbound-data TEXT, inbound-refused and
inbound-eof | inbound-reset | inbound-timeout for the inbound connection.
"""

import argparse
import os
import socket
import struct
import sys
import threading
import time

TIMEOUT = 5.0
CMD_CONNECT = 1
CMD_BIND = 2


def out(line):
    print(line, flush=True)


def esc(data):
    return data.decode("latin-1").encode("unicode_escape").decode("ascii")


def unesc(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def parse_hostport(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def build_request(cmd, dst, user=b"bob"):
    """SOCKS4 for an IPv4 DST, SOCKS 4A (DSTIP 0.0.0.1, the name after the
    USERID) for anything else."""
    host, port = parse_hostport(dst)
    try:
        ip = socket.inet_pton(socket.AF_INET, host)
    except OSError:
        return (struct.pack("!BBH4s", 4, cmd, port, b"\0\0\0\1") + user + b"\0"
                + host.encode("latin-1") + b"\0")
    return struct.pack("!BBH4s", 4, cmd, port, ip) + user + b"\0"


def fmt_reply(rep):
    vn, cd, port, ip = struct.unpack("!BBH4s", rep)
    return "reply %d %d %s:%d" % (vn, cd, socket.inet_ntoa(ip), port)


def reply_fields(rep):
    vn, cd, port, ip = struct.unpack("!BBH4s", rep)
    return vn, cd, socket.inet_ntoa(ip), port


def open_proxy(proxy_port, timeout=TIMEOUT):
    s = socket.create_connection(("127.0.0.1", int(proxy_port)), timeout=timeout)
    s.settimeout(timeout)
    return s


def read_exact(s, n):
    """Returns (bytes, chunks, end): end is None when n bytes came."""
    got, chunks = b"", 0
    while len(got) < n:
        try:
            b = s.recv(n - len(got))
        except socket.timeout:
            return got, chunks, "timeout"
        except ConnectionResetError:
            return got, chunks, "reset"
        if not b:
            return got, chunks, "eof"
        got += b
        chunks += 1
    return got, chunks, None


def read_to_end(s, want=None):
    """Reads until EOF, reset, timeout, or `want` bytes. Returns (data, end)."""
    data = b""
    while want is None or len(data) < want:
        try:
            b = s.recv(65536)
        except socket.timeout:
            return data, "timeout"
        except ConnectionResetError:
            return data, "reset"
        if not b:
            return data, "eof"
        data += b
    return data, None


def report_reply(s, timing=False, t0=None):
    """Reads and prints a reply. Returns its 8 bytes, or None if it ended."""
    rep, chunks, end = read_exact(s, 8)
    if end:
        if rep:
            out("short " + rep.hex())
        out(end)
        return None
    out(fmt_reply(rep))
    if timing:
        out("reply-ms %d" % ((time.monotonic() - t0) * 1000))
        out("reply-chunks %d" % chunks)
    return rep


def finish(s, prefix="", want=None):
    """Prints what is left to read on s and how it ended."""
    data, end = read_to_end(s, want)
    if data:
        out(prefix + "data " + esc(data))
    if end:
        out(prefix + end)


def proxied_pair(proxy_port):
    """A CONNECT through the proxy to a listener of our own, accepted:
    (client socket, destination socket, the reply's 8 bytes)."""
    dest = socket.socket()
    dest.bind(("127.0.0.1", 0))
    dest.listen(1)
    s = open_proxy(proxy_port)
    s.sendall(build_request(CMD_CONNECT, "127.0.0.1:%d" % dest.getsockname()[1]))
    rep = read_exact(s, 8)[0]
    dest.settimeout(TIMEOUT)
    c, _ = dest.accept()
    c.settimeout(TIMEOUT)
    dest.close()
    return s, c, rep


def send_queue(sock):
    """Bytes written to sock that its peer has not acknowledged (SIOCOUTQ)."""
    import fcntl, termios
    return struct.unpack("i", fcntl.ioctl(sock, termios.TIOCOUTQ, b"\0" * 4))[0]


def wait_acknowledged(sock, seconds=TIMEOUT):
    """Waits (bounded) until the peer has acknowledged all; the bytes left."""
    deadline = time.monotonic() + seconds
    while send_queue(sock) and time.monotonic() < deadline:
        time.sleep(0.01)
    return send_queue(sock)


def reset_close(sock):
    """close() with SO_LINGER 0: the peer sees a reset."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def send_request(s, req, split):
    if split:
        for i in range(len(req)):
            s.sendall(req[i : i + 1])
            time.sleep(0.005)
    else:
        s.sendall(req)


def make_request(args, cmd):
    if args.raw is not None:
        return bytes.fromhex(args.raw)
    user = b"u" * args.user_len if args.user_len is not None else args.user.encode()
    return build_request(cmd, args.dst, user) + unesc(args.with_)


def cmd_connect(args):
    s = open_proxy(args.proxy, args.timeout)
    t0 = time.monotonic()
    send_request(s, make_request(args, CMD_CONNECT), args.split)
    if report_reply(s, args.timing, t0) is None:
        return
    if args.send:
        s.sendall(unesc(args.send))
    if args.shut:
        s.shutdown(socket.SHUT_WR)
    finish(s, want=args.want)
    s.close()


def cmd_bind(args):
    s = open_proxy(args.proxy, args.timeout)
    s.sendall(make_request(args, CMD_BIND))
    first = report_reply(s)
    if first is None:
        return
    _, code, ip, port = reply_fields(first)
    if code != 90:
        finish(s)
        return
    if args.leave:
        s.close()
        return
    if args.no_inbound:
        if report_reply(s) is not None:
            finish(s)
        return
    if ip == "0.0.0.0":  # draft 4.2: use the server's own address then
        ip = s.getpeername()[0]
    c = socket.socket()
    c.settimeout(args.timeout)
    c.bind((args.from_, 0))
    try:
        c.connect((ip, port))
    except ConnectionRefusedError:
        out("inbound-refused")
        finish(s)
        return
    out("inbound-local %s:%d" % c.getsockname())
    second = report_reply(s)
    if second is None or second[1] != 90:
        if second is not None:
            finish(s)
        finish(c, "inbound-")
        return
    to_inbound = unesc(args.with_) + unesc(args.to_inbound)
    if args.to_inbound:
        s.sendall(unesc(args.to_inbound))
    if to_inbound:
        finish(c, "inbound-", want=len(to_inbound))
    if args.to_client:
        c.sendall(unesc(args.to_client))
    c.shutdown(socket.SHUT_WR)
    finish(s)
    s.close()
    finish(c, "inbound-")
    c.close()


def echo_one(c):
    c.settimeout(30)
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
        c.sendall(b"bye\n")
    except OSError:
        pass
    finally:
        c.close()


def cmd_echo(args):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    tmp = args.portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(tmp, args.portfile)
    while True:
        c, peer = srv.accept()
        out("peer %s:%d" % peer)
        threading.Thread(target=echo_one, args=(c,), daemon=True).start()


def cmd_probe(args):
    host, port = parse_hostport(args.addr)
    try:
        socket.create_connection((host, port), timeout=TIMEOUT).close()
        out("connected")
    except ConnectionRefusedError:
        out("refused")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    e = sub.add_parser("echo")
    e.add_argument("portfile")

    pr = sub.add_parser("probe")
    pr.add_argument("addr")

    for name in ("connect", "bind"):
        c = sub.add_parser(name)
        c.add_argument("proxy", help="socks4d's port on 127.0.0.1")
        c.add_argument("dst", help="DSTIP:DSTPORT")
        c.add_argument("--user", default="bob")
        c.add_argument("--user-len", type=int, help="a user id of N 'u's")
        c.add_argument("--raw", help="send these hex bytes instead of a request")
        c.add_argument("--with", dest="with_", default="",
                       help="bytes to send in the same write as the request")
        c.add_argument("--timeout", type=float, default=TIMEOUT)
    c = sub.choices["connect"]
    c.add_argument("--split", action="store_true", help="one byte per write")
    c.add_argument("--send", help="send after the reply")
    c.add_argument("--shut", action="store_true", help="then shutdown(SHUT_WR)")
    c.add_argument("--want", type=int, help="stop after N bytes of data")
    c.add_argument("--timing", action="store_true")
    b = sub.choices["bind"]
    b.add_argument("--from", dest="from_", default="127.0.0.1",
                   help="source address of the inbound connection")
    b.add_argument("--no-inbound", action="store_true",
                   help="never connect to the BIND port")
    b.add_argument("--leave", action="store_true",
                   help="close the client after the first reply")
    b.add_argument("--to-inbound", default="", help="client -> inbound bytes")
    b.add_argument("--to-client", default="", help="inbound -> client bytes")

    args = p.parse_args()
    {"echo": cmd_echo, "probe": cmd_probe, "connect": cmd_connect,
     "bind": cmd_bind}[args.cmd](args)


if __name__ == "__main__":
    main()
