#!/usr/bin/python3
"""A Type=notify test service that says exactly what it is told to.

Usage: notify.py [OPTIONS]

  --send MSG             Send MSG with systemd.daemon.notify (repeatable, in
                         order; "\\n" in MSG separates assignments). Without
                         any --send: READY=1.
  --delay S              Wait S seconds before the first message.
  --watchdog             Send WATCHDOG=1 at half of $WATCHDOG_USEC.
  --watchdog-interval S  Send WATCHDOG=1 every S seconds instead.
  --stop-watchdog-after S  Stop sending WATCHDOG=1 after S seconds.
  --status-every S       Send STATUS=tick N every S seconds.
  --exit-after S         Exit after S seconds with --exit-code (default 0).
  --exit-code N          The exit status of --exit-after.
  --ignore-sigterm       Ignore SIGTERM (to test TimeoutStopSec= and SIGKILL).
  --report FILE          Write PID, NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID
                         (as received) as KEY=VALUE lines to FILE (atomically).

SIGTERM (unless ignored): send STOPPING=1, exit 0.
"""
import argparse
import os
import signal
import sys
import time

from systemd import daemon


def parse():
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__.strip())
        sys.exit(0)
    parser = argparse.ArgumentParser(usage="notify.py [OPTIONS] (see --help)", add_help=False)
    parser.add_argument("--send", action="append", default=[])
    parser.add_argument("--delay", type=float, default=0)
    parser.add_argument("--watchdog", action="store_true")
    parser.add_argument("--watchdog-interval", type=float)
    parser.add_argument("--stop-watchdog-after", type=float)
    parser.add_argument("--status-every", type=float)
    parser.add_argument("--exit-after", type=float)
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--report")
    return parser.parse_args()


def notify(message):
    # unset_environment=False: later messages need NOTIFY_SOCKET too.
    daemon.notify(message.replace("\\n", "\n"))


def main():
    options = parse()
    if options.report:
        keys = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
        with open(options.report + ".tmp", "w") as report:
            report.write(f"PID={os.getpid()}\n")
            report.writelines(f"{key}={os.environ.get(key, '')}\n" for key in keys)
        os.rename(options.report + ".tmp", options.report)

    if options.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        def stop(*_):
            notify("STOPPING=1")
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)

    time.sleep(options.delay)
    for message in options.send or ["READY=1"]:
        notify(message)

    start = time.monotonic()
    interval = options.watchdog_interval
    if interval is None and options.watchdog and os.environ.get("WATCHDOG_USEC"):
        interval = int(os.environ["WATCHDOG_USEC"]) / 2e6
    # (period, action) timers; the loop sleeps until the next one is due.
    timers = []
    if interval:
        timers.append([interval, "watchdog"])
    if options.status_every:
        timers.append([options.status_every, "status"])
    due = {name: start + period for period, name in timers}
    ticks = 0
    while True:
        now = time.monotonic()
        if options.exit_after is not None and now - start >= options.exit_after:
            sys.exit(options.exit_code)
        for period, name in timers:
            if now >= due[name]:
                due[name] += period
                if name == "watchdog":
                    if (options.stop_watchdog_after is None
                            or now - start < options.stop_watchdog_after):
                        notify("WATCHDOG=1")
                else:
                    ticks += 1
                    notify(f"STATUS=tick {ticks}")
        wake = list(due.values())
        if options.exit_after is not None:
            wake.append(start + options.exit_after)
        time.sleep(max(0.0, min(wake) - time.monotonic()) if wake else 3600)


if __name__ == "__main__":
    main()
