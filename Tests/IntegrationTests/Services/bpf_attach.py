#!/usr/bin/python3
"""Attaches a pinned cgroup program to a cgroup2 group the way swatchd before BPF_F_ALLOW_MULTI
did, with no flags: the one program of its hook, which allows no other beside it (bpf(2)).

    bpf_attach.py GROUP_DIRECTORY PINNED_PROGRAM ingress|egress

bpftool cannot stand in: its `cgroup attach` gets EBADF from newer kernels.
"""
import ctypes
import os
import struct
import sys

SYS_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
BPF_PROG_ATTACH, BPF_OBJ_GET = 8, 7
HOOKS = {"ingress": 0, "egress": 1}  # BPF_CGROUP_INET_INGRESS, BPF_CGROUP_INET_EGRESS

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(command, attr):
    buffer = ctypes.create_string_buffer(attr.ljust(128, b"\0"), 128)
    result = libc.syscall(ctypes.c_long(SYS_BPF), ctypes.c_long(command), buffer, ctypes.c_uint(128))
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result


group, pinned, hook = sys.argv[1], sys.argv[2], sys.argv[3]
path = ctypes.create_string_buffer(pinned.encode())
program = bpf(BPF_OBJ_GET, struct.pack("=QII", ctypes.addressof(path), 0, 0))
directory = os.open(group, os.O_RDONLY | os.O_DIRECTORY)
# target_fd, attach_bpf_fd, attach_type, attach_flags (none)
bpf(BPF_PROG_ATTACH, struct.pack("=IIII", directory, program, HOOKS[hook], 0))
print("attached")
