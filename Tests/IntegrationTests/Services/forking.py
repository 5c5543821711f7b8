#!/usr/bin/python3
"""A classic Type=forking daemon for the tests.

Usage: forking.py PIDFILE REPORT

The started process forks; the child calls setsid(), writes its pid to
PIDFILE and REPORT (KEY=VALUE: PID, PARENT — the pid of the process that
forked it), then sleeps until SIGTERM (exit 0). The parent exits 0 once
PIDFILE is written, as daemon(7) asks of a SysV daemon.
"""
import os
import signal
import sys
import time


def write(path, text):
    with open(path + ".tmp", "w") as out:
        out.write(text)
    os.rename(path + ".tmp", path)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pidfile, report = sys.argv[1:]
    parent = os.getpid()
    read_end, write_end = os.pipe()
    if os.fork() == 0:
        os.close(read_end)
        os.setsid()
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        write(pidfile, f"{os.getpid()}\n")
        write(report, f"PID={os.getpid()}\nPARENT={parent}\n")
        os.write(write_end, b"x")
        os.close(write_end)
        while True:
            time.sleep(3600)
    os.close(write_end)
    os.read(read_end, 1)  # the pidfile exists before the parent exits
    sys.exit(0)


if __name__ == "__main__":
    main()
