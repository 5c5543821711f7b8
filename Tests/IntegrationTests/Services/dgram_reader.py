#!/usr/bin/python3
"""A socket-activated datagram test service.

Usage: dgram_reader.py FILE [--exit-after N]

Reads datagrams from fd 3 (the first socket of the sd_listen_fds protocol:
unix, inet or sequential-packet) and appends each one to FILE as a line,
flushed at once so a test can poll FILE. With --exit-after N it exits 0
after N datagrams (to test re-activation). SIGTERM: exit 0.
"""
import signal
import socket
import sys


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    path = sys.argv[1]
    limit = None
    if "--exit-after" in sys.argv:
        limit = int(sys.argv[sys.argv.index("--exit-after") + 1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock = socket.socket(fileno=3)
    count = 0
    with open(path, "ab", buffering=0) as out:
        while limit is None or count < limit:
            data = sock.recv(65536)
            out.write(data.rstrip(b"\n") + b"\n")
            count += 1


if __name__ == "__main__":
    main()
