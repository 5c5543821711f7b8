#!/usr/bin/python3
"""The development server of README.md "Local development", with a report.

Usage: dev_server.py REPORT [STARTS]

Takes its sockets with python3-systemd, systemd.daemon.listen_fds_with_names(),
writes REPORT (KEY=VALUE lines, written to REPORT.tmp and renamed): PID,
NAMES (the fd names, comma-separated, in fd order), A and B (those environment
variables, empty when unset). Appends its PID as one line to STARTS at each
start, so a test counts the starts. Then answers an HTTP "Hello World!" on
every listening stream socket. SIGTERM: exit 0.
"""
import os
import selectors
import signal
import socket
import sys

from systemd import daemon

HELLO = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
         b"Content-Length: 13\r\nConnection: close\r\n\r\nHello World!\n")


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    fds = daemon.listen_fds_with_names()
    lines = [("PID", os.getpid()), ("NAMES", ",".join(fds.values())),
             ("A", os.environ.get("A", "")), ("B", os.environ.get("B", ""))]
    with open(sys.argv[1] + ".tmp", "w") as report:
        report.writelines(f"{key}={value}\n" for key, value in lines)
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    if len(sys.argv) > 2:
        with open(sys.argv[2], "a") as starts:
            starts.write(f"{os.getpid()}\n")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    selector = selectors.DefaultSelector()
    for fd in fds:
        selector.register(socket.socket(fileno=fd), selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            connection, _ = key.fileobj.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(HELLO)


if __name__ == "__main__":
    main()
