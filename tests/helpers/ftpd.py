"""ftpd.py - an FTP server for the tests, on pyftpdlib.

    python3 ftpd.py -p PORTFILE -d DIR [-b ADDR] [--foreign]

Serves DIR to anonymous users, with write access, on ADDR (default
127.0.0.1) at a port picked by the kernel, written to PORTFILE once it
listens. Logs one line per command that matters to the tests (PORT,
EPRT, PASV, EPSV, RETR, STOR, ...), so a test can read which address a
client advertised. --foreign lets active connections go to an address
other than the control connection's (pyftpdlib's anti-bounce check is on
by default, as vsftpd's is).
"""
import argparse
import logging
import os
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


class Handler(FTPHandler):
    log_cmds_list = ["USER", "PASV", "EPSV", "RETR", "STOR", "LIST", "NLST",
                     "SIZE", "CWD", "TYPE", "QUIT"]

    # The data address exactly as the client wrote it, before pyftpdlib
    # judges it: "client says PORT 127,0,0,1,157,2".
    def ftp_PORT(self, line):
        self.log("client says PORT %s" % line)
        return FTPHandler.ftp_PORT(self, line)

    def ftp_EPRT(self, line):
        self.log("client says EPRT %s" % line)
        return FTPHandler.ftp_EPRT(self, line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", "--portfile", required=True)
    ap.add_argument("-d", "--dir", required=True)
    ap.add_argument("-b", "--bind", default="127.0.0.1")
    ap.add_argument("--foreign", action="store_true")
    args = ap.parse_args()

    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="ftpd: %(message)s")
    auth = DummyAuthorizer()
    auth.add_anonymous(os.path.abspath(args.dir), perm="elradfmw")
    Handler.authorizer = auth
    Handler.permit_foreign_addresses = args.foreign
    Handler.banner = "socks4wrap test ftpd ready"
    server = FTPServer((args.bind, 0), Handler)
    port = server.socket.getsockname()[1]
    tmp = args.portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.portfile)
    server.serve_forever()


if __name__ == "__main__":
    main()
