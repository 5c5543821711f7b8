#!/usr/bin/python3
"""A Type=notify-reload service as systemd.service(5) describes one, with
python3-systemd's sd_notify.

Usage: notify_reload.py REPORT SIGNAL

READY=1 once started. At SIGNAL (USR1, HUP, ...): RELOADING=1 with
MONOTONIC_USEC= (CLOCK_MONOTONIC, as the protocol asks), REPORT rewritten
with RELOADS=<how many so far> and PID=<this process>, then READY=1. Any
other signal keeps its default action: a manager sending the wrong one
ends the service.
"""
import os
import signal
import sys
import time

from systemd import daemon


def report(path, reloads):
    with open(path + ".tmp", "w") as out:
        out.write(f"PID={os.getpid()}\nRELOADS={reloads}\n")
    os.rename(path + ".tmp", path)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, name = sys.argv[1], sys.argv[2]
    asked = []
    signal.signal(getattr(signal, "SIG" + name), lambda *_: asked.append(True))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    reloads = 0
    report(path, reloads)
    daemon.notify("READY=1")
    while True:
        signal.pause()
        while asked:
            asked.pop()
            stamp = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
            daemon.notify(f"RELOADING=1\nMONOTONIC_USEC={stamp}")
            reloads += 1
            report(path, reloads)
            daemon.notify("READY=1")


if __name__ == "__main__":
    main()
