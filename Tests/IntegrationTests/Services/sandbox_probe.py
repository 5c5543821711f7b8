#!/usr/bin/python3
"""Tries what a sandbox should forbid and writes what the kernel answered.

    sandbox_probe.py OUTPUT PROBE...

For each PROBE, one line "PROBE RESULT" goes to OUTPUT (written at the end,
through a rename): RESULT is "ok" or the errno's name (EPERM, EROFS, ...).
The probes never change the machine when they succeed unexpectedly: they
use bogus arguments or write back what is already there.
"""
import errno
import os
import socket
import sys


def libc():
    import ctypes
    return ctypes.CDLL(None, use_errno=True), ctypes


def call(name, *arguments):
    lib, ctypes = libc()
    result = getattr(lib, name)(*arguments)
    if result == -1:
        raise OSError(ctypes.get_errno(), name)
    return result


def probe(name):
    if name == "mount":
        # A tmpfs on a fresh directory; undone at once should it work.
        target = "/run/swatch-probe-mount-%d" % os.getpid()
        os.makedirs(target, exist_ok=True)
        try:
            call("mount", b"none", target.encode(), b"tmpfs", 0, None)
            call("umount", target.encode())
        finally:
            os.rmdir(target)
    elif name == "swapon":
        call("swapon", b"/nonexistent-swatch-swap", 0)
    elif name == "inet":
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
    elif name == "unix":
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()
    elif name == "wx":
        import mmap
        mmap.mmap(-1, 4096, prot=mmap.PROT_WRITE | mmap.PROT_EXEC).close()
    elif name == "w":
        import mmap
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE).close()
    elif name == "userns":
        call("unshare", 0x10000000)  # CLONE_NEWUSER
    elif name == "sethostname":
        current = socket.gethostname().encode()
        call("sethostname", current, len(current))
    elif name == "sysctl":
        path = "/proc/sys/kernel/printk_ratelimit"
        value = open(path).read()
        with open(path, "w") as f:
            f.write(value)
    elif name == "cgroup":
        for base in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
            if os.path.isfile(base + "/cgroup.procs"):
                path = base + "/swatch-probe-%d" % os.getpid()
                os.mkdir(path)
                os.rmdir(path)
                break
    elif name == "kmsg":
        open("/dev/kmsg").close()
    elif name == "modules":
        os.listdir("/lib/modules")
    elif name == "settime":
        import time
        time.clock_settime(time.CLOCK_REALTIME, time.clock_gettime(time.CLOCK_REALTIME))
    elif name == "suid":
        path = "/run/swatch-probe-suid-%d" % os.getpid()
        open(path, "w").close()
        try:
            os.chmod(path, 0o4755)
        finally:
            os.unlink(path)
    elif name == "interfaces":
        return ",".join(sorted(name for _, name in socket.if_nameindex()))
    elif name.startswith("connect:"):
        port = int(name.split(":")[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    elif name == "hostname":
        return socket.gethostname()
    elif name == "realtime":
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    elif name == "personality":
        call("personality", 0x0008)  # PER_LINUX32
        call("personality", 0)
    elif name == "filters":
        for line in open("/proc/self/status"):
            if line.startswith("Seccomp_filters:"):
                return line.split()[1]
        return "unknown"
    elif name == "syslog":
        call("klogctl", 10, None, 0)  # SYSLOG_ACTION_SIZE_BUFFER
    elif name.startswith("write:"):
        path = name.split(":", 1)[1] + "/swatch-probe-%d" % os.getpid()
        open(path, "w").close()
        os.unlink(path)
    elif name.startswith("read:"):
        return open(name.split(":", 1)[1]).read().strip() or "empty"
    elif name.startswith("list:"):
        return ",".join(sorted(os.listdir(name.split(":", 1)[1]))) or "empty"
    elif name.startswith("exists:"):
        return "yes" if os.path.exists(name.split(":", 1)[1]) else "no"
    elif name.startswith("exec:"):
        import subprocess
        subprocess.run([name.split(":", 1)[1]], check=True)
    else:
        return "unknown-probe"
    return "ok"


def main():
    output, probes = sys.argv[1], sys.argv[2:]
    lines = []
    for name in probes:
        try:
            result = probe(name)
        except OSError as error:
            result = errno.errorcode.get(error.errno, str(error.errno)) if error.errno else str(error)
        except Exception as error:  # a probe that broke: say how
            result = type(error).__name__
        lines.append("%s %s\n" % (name, result))
    temporary = output + ".part"
    with open(temporary, "w") as f:
        f.writelines(lines)
    os.rename(temporary, output)


main()
