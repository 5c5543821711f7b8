#!/usr/bin/python3
"""A test service that plays a script of sd_notify steps, in order.

Usage: notify_steps.py STEP...

Steps:
  send:MSG          sd_notify(MSG) with python3-systemd ("\\n" in MSG separates
                    assignments; "{child}" is replaced by the forked child's pid)
  raw:MSG           the same datagram sent by hand to $NOTIFY_SOCKET (path or
                    @abstract), without libsystemd
  nul:MSG           MSG, a newline, a NUL byte and "X=1", sent by hand: a
                    datagram holding a NUL, which sd_notify(3) would not send
  pad:MSG:N         MSG followed by a line X=xxx... making the datagram N
                    bytes, sent by hand
  sleep:S           sleep S seconds (float)
  fork              fork a child that sleeps until SIGTERM (exit 0); the parent
                    goes on with the script, {child} is its pid
  report:FILE       write PID (this process) and CHILD ({child} or empty) as
                    KEY=VALUE lines to FILE (atomically)
  exit:N            exit with status N
  forever           sleep until SIGTERM (exit 0)

Example: notify_steps.py send:EXTEND_TIMEOUT_USEC=5000000 sleep:2 send:READY=1 forever
"""
import os
import signal
import socket
import sys
import time

from systemd import daemon


def send_raw(data):
    address = os.environ["NOTIFY_SOCKET"]
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(data, address)


def sleep_forever():
    while True:
        time.sleep(3600)


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    child = None
    for step in sys.argv[1:]:
        verb, _, argument = step.partition(":")
        text = argument.replace("\\n", "\n").replace("{child}", str(child or ""))
        if verb == "send":
            daemon.notify(text)
        elif verb == "raw":
            send_raw(text.encode())
        elif verb == "nul":
            send_raw(text.encode() + b"\n\0X=1")
        elif verb == "pad":
            message, _, size = text.rpartition(":")
            data = (message + "\nX=").encode()
            send_raw(data + b"x" * max(0, int(size) - len(data)))
        elif verb == "sleep":
            time.sleep(float(argument))
        elif verb == "fork":
            child = os.fork()
            if child == 0:
                sleep_forever()
        elif verb == "report":
            with open(argument + ".tmp", "w") as out:
                out.write(f"PID={os.getpid()}\nCHILD={child or ''}\n")
            os.rename(argument + ".tmp", argument)
        elif verb == "exit":
            sys.exit(int(argument))
        elif verb == "forever":
            sleep_forever()
        else:
            sys.exit(f"notify_steps.py: unknown step {step!r}")


if __name__ == "__main__":
    main()
