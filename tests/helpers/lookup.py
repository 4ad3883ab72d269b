#!/usr/bin/python3
"""lookup.py - name lookups as a program makes them, one result a line.

    lookup.py gai NAME [SERVICE [FAMILY [SOCKTYPE [FLAGS [PROTO]]]]]
        getaddrinfo(): "FAMILY SOCKTYPE PROTO ADDR PORT [CANON]" a result,
        or "error EAI_..." ; NAME "-" is NULL, SERVICE "-" is NULL;
        FAMILY unspec|inet|inet6, SOCKTYPE 0|stream|dgram,
        FLAGS like "canonname,v4mapped" (or 0; idn and canonidn too),
        PROTO 0|tcp|udp
    lookup.py ghbn NAME          gethostbyname_r(): "NAME ALIASES ADDRS"
    lookup.py gha ADDR           gethostbyaddr_r(): the name, or "error ..."
    lookup.py gni ADDR PORT [FLAGS]   getnameinfo(): "HOST SERV" or "error"
    lookup.py fork NAME          looks NAME up, forks, the child gets the name
                                 back from the address: "child: NAME"
NAME is passed as bytes, so no IDNA step stands between it and the C library.
Octal escapes (\\001) in NAME are decoded, for names with control bytes.
"""
import os
import socket
import sys

FAMILIES = {"unspec": socket.AF_UNSPEC, "inet": socket.AF_INET, "inet6": socket.AF_INET6}
TYPES = {"0": 0, "stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM}
PROTOS = {"0": 0, "tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP}
NI = {"namereqd": socket.NI_NAMEREQD, "numerichost": socket.NI_NUMERICHOST,
      "numericserv": socket.NI_NUMERICSERV, "dgram": socket.NI_DGRAM}
EAI = {getattr(socket, n): n for n in dir(socket) if n.startswith("EAI_")}
EAI[-105] = "EAI_IDN_ENCODE"  # <netdb.h>; the socket module lacks it
# <netdb.h>'s values for the flags the socket module lacks
AI_MORE = {"idn": 0x0040, "canonidn": 0x0080}


def name_arg(s):
    if s == "-":
        return None
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


def flags(s, table):
    v = 0
    for f in s.split(","):
        if f and f != "0":
            v |= table[f] if table is NI else AI_MORE.get(f) or getattr(socket, "AI_" + f.upper())
    return v


def gai(args):
    name = name_arg(args[0])
    service = args[1] if len(args) > 1 and args[1] != "-" else None
    fam = FAMILIES[args[2]] if len(args) > 2 else 0
    typ = TYPES[args[3]] if len(args) > 3 else 0
    fl = flags(args[4], None) if len(args) > 4 else 0
    proto = PROTOS[args[5]] if len(args) > 5 else 0
    try:
        res = socket.getaddrinfo(name, service, fam, typ, proto, fl)
    except socket.gaierror as e:
        print("error", EAI.get(e.errno, e.errno))
        return
    for f, t, p, canon, sa in res:
        line = "%s %s %d %s %d" % (f.name, t.name, p, sa[0], sa[1])
        print(line + (" " + canon if canon else ""))


def ghbn(args):
    try:
        n, aliases, addrs = socket.gethostbyname_ex(name_arg(args[0]).decode("latin-1"))
    except socket.herror as e:
        print("error", e)
        return
    except socket.gaierror as e:
        print("error", EAI.get(e.errno, e.errno))
        return
    print(n, ",".join(aliases) or "-", ",".join(addrs))


def gha(args):
    try:
        print(socket.gethostbyaddr(args[0])[0])
    except (socket.herror, socket.gaierror) as e:
        print("error", e)


def gni(args):
    fl = flags(args[2], NI) if len(args) > 2 else 0
    try:
        print(*socket.getnameinfo((args[0], int(args[1])), fl))
    except socket.gaierror as e:
        print("error", EAI.get(e.errno, e.errno))


def fork(args):
    addr = socket.getaddrinfo(name_arg(args[0]), 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    pid = os.fork()
    if pid == 0:
        try:
            print("child:", socket.getnameinfo((addr, 80), socket.NI_NAMEREQD)[0], flush=True)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    {"gai": gai, "ghbn": ghbn, "gha": gha, "gni": gni, "fork": fork}[sys.argv[1]](sys.argv[2:])
