"""banner.py - a server that speaks first, as FTP, SMTP and SSH servers do:
each client gets one line, "hello from the server", then the server
waits for it to leave (10 s at most).

    python3 banner.py -p PORTFILE [-b ADDR]
"""
import argparse
import os
import socket
import threading


def serve(c):
    with c:
        c.sendall(b"hello from the server\n")
        c.settimeout(10)
        try:
            c.recv(1)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", "--portfile", required=True)
    ap.add_argument("-b", "--bind", default="127.0.0.1")
    args = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.bind, 0))
    s.listen(64)
    tmp = args.portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, args.portfile)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
