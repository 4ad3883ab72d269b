#!/usr/bin/python3
"""httpd.py - the small servers the integration tests talk to.

    httpd.py [-b ADDR] [-p PORTFILE] DIR      serve DIR over HTTP/1.0
    httpd.py --echo [-b ADDR] [-p PORTFILE]   echo every byte back over TCP

Listens on ADDR (127.0.0.1 unless told; IPv6 literals work) at port 0,
writes the port the kernel chose to PORTFILE (atomically, so a reader never
sees half a number), then logs one line per request or connection on
stderr, e.g.

    httpd: GET /hello.txt from 127.0.0.1:40406: 200
    echo: connection from 127.0.0.1:40408: 12 bytes

Standard library only: the tests run it with Debian's /usr/bin/python3.
SIGTERM ends it cleanly, which is how s4_stop stops it.
"""

import argparse
import http.server
import os
import signal
import socket
import socketserver
import sys


def log(line):
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def peer(addr):
    host, port = addr[0], addr[1]
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files; logs the request line and status, one line each."""

    protocol_version = "HTTP/1.0"

    def log_request(self, code="-", size="-"):
        if isinstance(code, http.HTTPStatus):
            code = code.value
        log("httpd: %s %s from %s: %s"
            % (self.command, self.path, peer(self.client_address), code))

    def log_message(self, format, *args):  # noqa: A002 (the base's name)
        log("httpd: " + (format % args))


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        total = 0
        while True:
            data = self.request.recv(65536)
            if not data:
                break
            self.request.sendall(data)
            total += len(data)
        log("echo: connection from %s: %d bytes"
            % (peer(self.client_address), total))
        try:
            self.request.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def write_portfile(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--echo", action="store_true", help="TCP echo server")
    ap.add_argument("-b", "--bind", default="127.0.0.1", help="address")
    ap.add_argument("-p", "--portfile", help="write the port here")
    ap.add_argument("dir", nargs="?", default=".", help="directory to serve")
    args = ap.parse_args()

    if args.echo:
        base, handler = socketserver.ThreadingTCPServer, EchoHandler
    else:
        base = http.server.ThreadingHTTPServer

        def handler(*a, **kw):
            return QuietHandler(*a, directory=args.dir, **kw)

    class Server(base):
        address_family = family_of(args.bind)
        allow_reuse_address = True
        daemon_threads = True
        # socketserver's default of 5 drops SYNs when many clients connect
        # at once, and a dropped SYN costs a one-second retransmit.
        request_queue_size = 1024

    server = Server((args.bind, 0), handler)
    port = server.server_address[1]

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    if args.portfile:
        write_portfile(args.portfile, port)
    log("%s: listening on %s" % ("echo" if args.echo else "httpd",
                                 peer((args.bind, port))))
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
