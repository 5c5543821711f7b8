#!/usr/bin/python3
"""A socket-activated test service written against python3-systemd.

Usage: listen_fds.py REPORT [--echo]

Takes its sockets with Debian's python3-systemd,
systemd.daemon.listen_fds_with_names() (libsystemd's protocol as another
client sees it), writes what it received to REPORT, then serves every
listening stream socket: an HTTP "Hello World!" answer by default, or with
--echo each connection's bytes back to it. Datagram sockets get their
datagrams sent back.

REPORT holds KEY=VALUE lines, written to REPORT.tmp and renamed:
  PID, LISTEN_PID (as received, before it is unset), LISTEN_FDS,
  LISTEN_FDNAMES, FDS (fd numbers received, comma-separated),
  NAMES (their names, comma-separated), FD<n>_NAME for each fd.
SIGTERM: exit 0.
"""
import os
import selectors
import signal
import socket
import sys

from systemd import daemon

HELLO = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
         b"Content-Length: 13\r\nConnection: close\r\n\r\nHello World!\n")


def write_report(path, lines):
    with open(path + ".tmp", "w") as report:
        report.writelines(f"{key}={value}\n" for key, value in lines)
    os.rename(path + ".tmp", path)


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    report_path, echo = sys.argv[1], "--echo" in sys.argv[2:]
    received = [(key, os.environ.get(key, ""))
                for key in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")]
    # {fd: name}; unset_environment defaults to True, as libsystemd's advice.
    fds = daemon.listen_fds_with_names()
    lines = [("PID", os.getpid()), *received,
             ("FDS", ",".join(str(fd) for fd in fds)),
             ("NAMES", ",".join(fds.values()))]
    lines += [(f"FD{fd}_NAME", name) for fd, name in fds.items()]
    write_report(report_path, lines)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    selector = selectors.DefaultSelector()
    for fd in fds:
        try:
            sock = socket.socket(fileno=fd)
        except OSError:
            continue  # a FIFO or something else that is no socket: left alone
        if sock.type == socket.SOCK_DGRAM:
            selector.register(sock, selectors.EVENT_READ, "datagram")
        elif sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            selector.register(sock, selectors.EVENT_READ, "listener")
    while True:
        for key, _ in selector.select():
            sock = key.fileobj
            if key.data == "datagram":
                data, peer = sock.recvfrom(65536)
                if peer:
                    sock.sendto(data, peer)
            elif key.data == "listener":
                connection, _ = sock.accept()
                selector.register(connection, selectors.EVENT_READ, "connection")
            else:
                serve(selector, sock, echo)


def serve(selector, connection, echo):
    data = connection.recv(65536)
    if echo and data:
        connection.sendall(data)
        return
    if not echo and data:
        # One read is the whole request of a test client (curl, urllib).
        connection.sendall(HELLO)
    selector.unregister(connection)
    connection.close()


if __name__ == "__main__":
    main()
