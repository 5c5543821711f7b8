#!/usr/bin/python3
"""A socket-activated test service that says what each fd it was handed is.

Usage: fd_probe.py REPORT [ACTION]

Takes its fds with python3-systemd's systemd.daemon.listen_fds_with_names()
and, for each fd N, reports:
  FDN_NAME    its LISTEN_FDNAMES name
  FDN_LINK    os.readlink(/proc/self/fd/N)
  FDN_KIND    reg, chr, fifo, sock or other (fstat)
  FDN_ACCESS  r, w or rw (fcntl F_GETFL)
  FDN_DOMAIN, FDN_TYPE, FDN_PROTOCOL, FDN_RCVBUF  for a socket (getsockopt)
Then ACTION on fd 3:
  --line      read one line (a tty or a file): LINE=...; if the fd is
              writable, write "got:LINE\\n" back to it
  --mqueue    mq_receive(3) one message (ctypes): MESSAGE=..., and
              mq_getattr(3): MQ_MAXMSG=, MQ_MSGSIZE=
  --recvmsg   recvmsg one datagram with ancillary data from fd 3 and fd 4:
              DATA3=..., CMSG3=names of the control messages (SCM_TIMESTAMP,
              SCM_TIMESTAMPNS, IP_PKTINFO, IPV6_PKTINFO, or LEVEL/TYPE),
              PKTINFO3= the packet's destination address; the same for fd 4
The report is written to REPORT.tmp and renamed, after the action. Then the
service waits for SIGTERM (exit 0), so that it is not started again.
"""
import ctypes
import fcntl
import os
import select
import signal
import socket
import stat
import sys
import time

from systemd import daemon

CMSG_NAMES = {
    (socket.SOL_SOCKET, 29): "SCM_TIMESTAMP",
    (socket.SOL_SOCKET, 35): "SCM_TIMESTAMPNS",
    (socket.IPPROTO_IP, 8): "IP_PKTINFO",
    (socket.IPPROTO_IPV6, 50): "IPV6_PKTINFO",
}


def describe(fd, name):
    info = os.fstat(fd)
    kind = ("reg" if stat.S_ISREG(info.st_mode) else "chr" if stat.S_ISCHR(info.st_mode)
            else "fifo" if stat.S_ISFIFO(info.st_mode) else "sock" if stat.S_ISSOCK(info.st_mode)
            else "other")
    access = {os.O_RDONLY: "r", os.O_WRONLY: "w", os.O_RDWR: "rw"}[fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE]
    lines = [(f"FD{fd}_NAME", name), (f"FD{fd}_LINK", os.readlink(f"/proc/self/fd/{fd}")),
             (f"FD{fd}_KIND", kind), (f"FD{fd}_ACCESS", access)]
    if kind == "sock":
        sock = socket.socket(fileno=os.dup(fd))
        for key, option in (("DOMAIN", socket.SO_DOMAIN), ("TYPE", socket.SO_TYPE),
                            ("PROTOCOL", socket.SO_PROTOCOL), ("RCVBUF", socket.SO_RCVBUF)):
            lines.append((f"FD{fd}_{key}", sock.getsockopt(socket.SOL_SOCKET, option)))
        sock.close()
    return lines


def wait_readable(fd):
    select.select([fd], [], [], 10)


def read_line(fd):
    wait_readable(fd)
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = os.read(fd, 256)
        except BlockingIOError:
            wait_readable(fd)
            continue
        if not chunk:
            break
        data += chunk
    line = data.decode().strip()
    lines = [("LINE", line)]
    if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_RDONLY:
        os.write(fd, f"got:{line}\n".encode())
    return lines


class MqAttr(ctypes.Structure):
    _fields_ = [("mq_flags", ctypes.c_long), ("mq_maxmsg", ctypes.c_long),
                ("mq_msgsize", ctypes.c_long), ("mq_curmsgs", ctypes.c_long),
                ("reserved", ctypes.c_long * 4)]


def receive_message(fd):
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    attributes = MqAttr()
    if libc.mq_getattr(fd, ctypes.byref(attributes)) != 0:
        return [("ERROR", f"mq_getattr: {os.strerror(ctypes.get_errno())}")]
    buffer = ctypes.create_string_buffer(attributes.mq_msgsize)
    wait_readable(fd)
    count = libc.mq_receive(fd, buffer, attributes.mq_msgsize, None)
    if count < 0:
        return [("ERROR", f"mq_receive: {os.strerror(ctypes.get_errno())}")]
    return [("MESSAGE", buffer.raw[:count].decode()), ("MQ_MAXMSG", attributes.mq_maxmsg),
            ("MQ_MSGSIZE", attributes.mq_msgsize)]


def receive_datagram(fd):
    sock = socket.socket(fileno=os.dup(fd))
    sock.settimeout(10)
    data, ancillary, _, _ = sock.recvmsg(4096, 1024)
    names, destination = [], ""
    for level, kind, payload in ancillary:
        names.append(CMSG_NAMES.get((level, kind), f"{level}/{kind}"))
        if (level, kind) == (socket.IPPROTO_IP, 8):
            # struct in_pktinfo: ifindex, spec_dst, addr (the destination).
            destination = socket.inet_ntop(socket.AF_INET, payload[8:12])
        elif (level, kind) == (socket.IPPROTO_IPV6, 50):
            # struct in6_pktinfo: addr, ifindex.
            destination = socket.inet_ntop(socket.AF_INET6, payload[:16])
    sock.close()
    return [(f"DATA{fd}", data.decode()), (f"CMSG{fd}", ",".join(names)), (f"PKTINFO{fd}", destination)]


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    report_path, action = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    fds = daemon.listen_fds_with_names()
    lines = [("PID", os.getpid()), ("FDS", ",".join(str(fd) for fd in fds))]
    for fd, name in fds.items():
        lines += describe(fd, name)
    if action == "--line":
        lines += read_line(3)
    elif action == "--mqueue":
        lines += receive_message(3)
    elif action == "--recvmsg":
        for fd in fds:
            lines += receive_datagram(fd)
    with open(report_path + ".tmp", "w") as report:
        report.writelines(f"{key}={value}\n" for key, value in lines)
    os.rename(report_path + ".tmp", report_path)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
