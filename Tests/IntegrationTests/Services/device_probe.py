#!/usr/bin/python3
"""Opens device nodes and says on stdout what the kernel answered, one line each:

    device_probe.py PATH:MODE...      MODE is r or w
    device_probe.py mknod:PATH        makes a character node 1:3 (/dev/null's numbers) at PATH

    dev: PATH MODE ok|ERRNO
"""
import errno
import os
import sys

for argument in sys.argv[1:]:
    kind, _, rest = argument.partition(":")
    path, mode = (rest, "m") if kind == "mknod" else (kind, rest)
    try:
        if kind == "mknod":
            os.mknod(path, 0o600 | 0o020000, os.makedev(1, 3))
            os.unlink(path)
        else:
            fd = os.open(path, os.O_RDONLY if mode == "r" else os.O_WRONLY)
            os.close(fd)
        result = "ok"
    except OSError as error:
        result = errno.errorcode.get(error.errno, str(error.errno))
    sys.stdout.write("dev: %s %s %s\n" % (path, mode, result))
sys.stdout.flush()
