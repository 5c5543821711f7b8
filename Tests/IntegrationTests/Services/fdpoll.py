#!/usr/bin/python3
"""A test service for FDPOLL= (sd_notify(3)): which stored fds survive a hang-up.

Usage: fdpoll.py REPORT [--hold]

Without stored fds (the first start): makes two socket pairs, stores one end
of each with FDSTORE=1 -- FDNAME=polled (watched, the default) and
FDNAME=unpolled with FDPOLL=0 -- then closes the other ends, so that both
stored fds hang up (with --hold: only at SIGUSR1), and writes "stored" to REPORT. With stored fds (a later
start): writes LISTEN_FDNAMES=<names> to REPORT. Then READY=1 and waits.
REPORT is written to REPORT.tmp and renamed. SIGTERM: exit 0.
"""
import os
import signal
import socket
import sys

from systemd import daemon


def write_report(path, text):
    with open(path + ".tmp", "w") as report:
        report.write(text)
    os.rename(path + ".tmp", path)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    report, hold = sys.argv[1], sys.argv[2:] == ["--hold"]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    names = os.environ.get("LISTEN_FDNAMES", "")
    fds = daemon.listen_fds_with_names()
    if not fds:
        peers = []
        for name, poll in (("unpolled", "\nFDPOLL=0"), ("polled", "")):
            mine, peer = socket.socketpair()
            daemon.notify(f"FDSTORE=1\nFDNAME={name}{poll}", fds=[mine.fileno()])
            mine.close()
            peers.append(peer)

        def hang_up(*_):
            for peer in peers:
                peer.close()  # the stored ends hang up now
            peers.clear()
        if hold:
            signal.signal(signal.SIGUSR1, hang_up)
        else:
            hang_up()
        write_report(report, "stored\n")
    else:
        write_report(report, f"LISTEN_FDNAMES={names}\n")
    daemon.notify("READY=1")
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
