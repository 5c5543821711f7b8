#!/usr/bin/python3
"""A test service to be signalled, stopped and killed: it records the
signals it receives, can ignore them, and can leave a family behind.

Usage: victim.py REPORT [OPTIONS]

  --record FILE      Append "ROLE SIGNAME" to FILE for every SIGTERM, SIGINT,
                     SIGHUP, SIGABRT, SIGUSR1 or SIGUSR2 received (ROLE: main,
                     child1..childN, orphan), then exit 0 — unless the signal
                     is ignored (--ignore).
  --ignore SIG,...   Keep running after these signals (names without SIG:
                     TERM,ABRT). They are still recorded.
  --children N       Fork N children that stay in the main process's session.
  --orphan           Double-fork a grandchild whose parent exits at once: it
                     is reparented away from the service's process tree (only
                     a cgroup or a subreaper still knows it is the service's).
  --notify           Send READY=1 (python3-systemd) once the family exists.
  --watchdog-for S   Send WATCHDOG=1 at half of $WATCHDOG_USEC for S seconds,
                     then stop pinging (the supervisor's watchdog fires).

REPORT holds KEY=VALUE lines, written to REPORT.tmp and renamed once the
family exists (before READY=1): PID, CHILDREN (comma-separated pids),
ORPHAN (pid or empty), WATCHDOG_USEC (as received).
"""
import os
import signal
import sys
import time

from systemd import daemon

RECORDED = ("TERM", "INT", "HUP", "ABRT", "USR1", "USR2")


def option(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def install(role, record, ignored):
    def handler(number, _frame):
        name = signal.Signals(number).name[3:]
        if record:
            with open(record, "a") as out:
                out.write(f"{role} {name}\n")
        if name not in ignored:
            os._exit(0)
    for name in RECORDED:
        signal.signal(getattr(signal, "SIG" + name), handler)


def sleep_forever():
    while True:
        time.sleep(3600)


def fork_child(role, record, ignored):
    """Forks a child that records its signals as `role` and sleeps."""
    pid = os.fork()
    if pid == 0:
        install(role, record, ignored)
        sleep_forever()
    return pid


def fork_orphan(record, ignored):
    """Double fork: returns the grandchild's pid once its parent has exited."""
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:
        os.close(read_end)
        grandchild = os.fork()
        if grandchild == 0:
            os.close(write_end)
            install("orphan", record, ignored)
            sleep_forever()
        os.write(write_end, str(grandchild).encode())
        os._exit(0)
    os.close(write_end)
    pid = int(os.read(read_end, 32).decode())
    os.close(read_end)
    os.waitpid(middle, 0)
    return pid


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    report = sys.argv[1]
    record = option("--record")
    ignored = set(filter(None, option("--ignore", "").split(",")))
    install("main", record, ignored)
    children = [fork_child(f"child{n + 1}", record, ignored)
                for n in range(int(option("--children", "0")))]
    orphan = fork_orphan(record, ignored) if "--orphan" in sys.argv else None
    # Children that exit are reaped at once: a zombie is no survivor.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)

    lines = [("PID", os.getpid()), ("CHILDREN", ",".join(map(str, children))),
             ("ORPHAN", orphan or ""), ("WATCHDOG_USEC", os.environ.get("WATCHDOG_USEC", ""))]
    with open(report + ".tmp", "w") as out:
        out.writelines(f"{key}={value}\n" for key, value in lines)
    os.rename(report + ".tmp", report)
    if "--notify" in sys.argv:
        daemon.notify("READY=1")

    watchdog_for = option("--watchdog-for")
    usec = os.environ.get("WATCHDOG_USEC")
    if watchdog_for is not None and usec:
        interval = int(usec) / 2e6
        end = time.monotonic() + float(watchdog_for)
        while time.monotonic() < end:
            daemon.notify("WATCHDOG=1")
            time.sleep(interval)
    sleep_forever()


if __name__ == "__main__":
    main()
