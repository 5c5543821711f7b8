#!/usr/bin/python3
"""A socket-activated test service that keeps a client connection across
its own restarts in swatchd's file descriptor store (FDSTORE=1).

Usage: fdstore.py

The first instance accepts one connection on the listening socket (fd 3),
writes "stored by PID\\n" to it, stores it with FDSTORE=1 and FDNAME=conn,
and exits 1 (so that Restart= starts it again). A later instance finds the
connection among its fds by the name "conn" (LISTEN_FDNAMES), writes
"found by PID\\n" to it, and then echoes whatever the client sends.
SIGTERM: exit 0.
"""
import os
import signal
import socket
import sys

from systemd import daemon


def main():
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    fds = daemon.listen_fds_with_names()  # {fd: name}
    stored = [fd for fd, name in fds.items() if name == "conn"]
    if not stored:
        listener = socket.socket(fileno=min(fds))
        listener.setblocking(True)
        connection, _ = listener.accept()
        connection.sendall(f"stored by {os.getpid()}\n".encode())
        daemon.notify("FDSTORE=1\nFDNAME=conn", fds=[connection.fileno()])
        sys.exit(1)
    connection = socket.socket(fileno=stored[0])
    connection.setblocking(True)
    connection.sendall(f"found by {os.getpid()}\n".encode())
    daemon.notify("READY=1")
    while True:
        data = connection.recv(65536)
        if not data:
            break
        connection.sendall(data)


if __name__ == "__main__":
    main()
