#!/usr/bin/python3
"""Reports on stdout what a service sees of /tmp and /usr, one "KEY=VALUE" line each:

    private_view.py MARKER

    tmp-entries=N       how many entries its /tmp has
    marker=visible|absent   whether /tmp/MARKER (made by the test on the host) is there
    tmp-write=ok|ERRNO  creating a file in its /tmp
    usr-write=ok|ERRNO  creating a file in /usr (removed again should it work)
    uid=N gid=N         its ids as it sees them
"""
import errno
import os
import sys


def attempt(path):
    try:
        with open(path, "x"):
            pass
        os.unlink(path)
        return "ok"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))


marker = sys.argv[1]
lines = [
    "tmp-entries=%d" % len(os.listdir("/tmp")),
    "marker=%s" % ("visible" if os.path.exists(os.path.join("/tmp", marker)) else "absent"),
    "tmp-write=%s" % attempt("/tmp/private-view-%d" % os.getpid()),
    "usr-write=%s" % attempt("/usr/private-view-%d" % os.getpid()),
    "uid=%d gid=%d" % (os.getuid(), os.getgid()),
]
sys.stdout.write("".join("view: %s\n" % line for line in lines))
sys.stdout.flush()
