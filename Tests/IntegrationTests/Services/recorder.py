#!/usr/bin/python3
"""A test service that records its start and its stop, in order, with the time.

Usage: recorder.py NAME LOG

Appends `start NAME <ns>` to LOG, then says READY=1 (python3-systemd) — so
that a unit ordered after it starts after that line — and on SIGTERM appends
`stop NAME <ns>` and exits 0.
"""
import signal
import sys
import time

from systemd import daemon

name, log = sys.argv[1], sys.argv[2]


def record(what):
    with open(log, "a") as f:
        f.write(f"{what} {name} {time.time_ns()}\n")


def stop(*_):
    record("stop")
    sys.exit(0)


record("start")
signal.signal(signal.SIGTERM, stop)
daemon.notify("READY=1")
while True:
    time.sleep(1)
