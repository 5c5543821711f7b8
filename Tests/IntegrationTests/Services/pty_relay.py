#!/usr/bin/python3
"""A pseudo-terminal for a test: opens one, writes the path of its terminal side
to argv[1] (once it is ready), then appends what arrives at the master side to
argv[2] until argv[3] seconds have passed or the terminal side hangs up for good.

The terminal side is opened with O_NOCTTY (openpty(3)), so it is nobody's
controlling terminal: a service given it by StandardInput=tty can take it."""
import os
import sys
import time

path_file, output_file, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
master, terminal = os.openpty()
with open(path_file + ".tmp", "w") as f:
    f.write(os.ttyname(terminal))
os.rename(path_file + ".tmp", path_file)
deadline = time.monotonic() + seconds
with open(output_file, "ab", buffering=0) as out:
    while time.monotonic() < deadline:
        import select
        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            continue
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        out.write(data)
