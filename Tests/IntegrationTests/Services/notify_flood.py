#!/usr/bin/python3
"""A Type=notify test service that floods the notify socket, bounded in count and time.

Usage: notify_flood.py --count N --seconds S --report FILE [--go FILE]

Sends READY=1, waits for the --go file to exist (at most 30 s) if given, then "STATUS=flood I" datagrams with socket.sendto in a loop until N
were sent or S seconds passed, whichever comes first; then writes SENT=<count>,
SECONDS=<elapsed> and PID=<pid> to FILE (atomically) and sleeps until stopped.
"""
import argparse
import os
import signal
import socket
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--go")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    path = os.environ["NOTIFY_SOCKET"]
    address = "\0" + path[1:] if path.startswith("@") else path
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    sock.sendto(b"READY=1", address)
    waited = time.monotonic()
    while args.go and not os.path.exists(args.go) and time.monotonic() - waited < 30:
        time.sleep(0.01)
    # Blocking sends: a full queue (net.unix.max_dgram_qlen) waits for the daemon to read.
    # The timeout keeps the time bound even then.
    sock.settimeout(0.5)
    start = time.monotonic()
    sent = 0
    while sent < args.count and time.monotonic() - start < args.seconds:
        try:
            sock.sendto(b"STATUS=flood %d" % sent, address)
            sent += 1
        except socket.timeout:
            pass
    elapsed = time.monotonic() - start
    temporary = args.report + ".tmp"
    with open(temporary, "w") as report:
        report.write("SENT=%d\nSECONDS=%.3f\nPID=%d\n" % (sent, elapsed, os.getpid()))
    os.rename(temporary, args.report)
    while True:
        signal.pause()


main()
