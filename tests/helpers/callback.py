"""callback.py - an application server that calls its clients back, the
way an FTP server opens an active-mode data connection, for the BIND tests.

    python3 callback.py -p PORTFILE [-b ADDR]

For each client, on its (control) connection, line by line:
    CALL IP PORT [SRC]  connect to IP:PORT (from source address SRC if
                        given), send "hello from the application server\\n",
                        read one line back and answer "GOT <line>" on the
                        control connection, or "FAILED <reason>".
    WAIT                do nothing: the client's BIND waits in vain.
Every wait is bounded (10 s). Logs one line per event to stdout.
"""
import argparse
import os
import socket
import sys
import threading


def log(msg):
    sys.stdout.write("callback: %s\n" % msg)
    sys.stdout.flush()


def serve(ctl, peer):
    f = ctl.makefile("rwb", buffering=0)
    for raw in f:
        words = raw.decode("ascii", "replace").split()
        if not words:
            continue
        if words[0] == "WAIT":
            log("%s: WAIT" % (peer,))
            continue
        if words[0] != "CALL" or len(words) not in (3, 4):
            f.write(b"FAILED bad command\n")
            continue
        ip, port = words[1], int(words[2])
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(10)
            if len(words) == 4:
                s.bind((words[3], 0))
            s.connect((ip, port))
            log("%s: called %s:%d from %s:%d" % (peer, ip, port, *s.getsockname()))
            s.sendall(b"hello from the application server\n")
            line = s.makefile("rb").readline().decode("ascii", "replace").strip()
            s.close()
            f.write(("GOT %s\n" % line).encode())
        except OSError as e:
            log("%s: call to %s:%d failed: %s" % (peer, ip, port, e))
            f.write(("FAILED %s\n" % e).encode())
    ctl.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", "--portfile", required=True)
    ap.add_argument("-b", "--bind", default="127.0.0.1")
    args = ap.parse_args()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.bind, 0))
    srv.listen(64)
    with open(args.portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(args.portfile + ".tmp", args.portfile)
    while True:
        c, a = srv.accept()
        c.settimeout(30)
        threading.Thread(target=serve, args=(c, "%s:%d" % a), daemon=True).start()


if __name__ == "__main__":
    main()
