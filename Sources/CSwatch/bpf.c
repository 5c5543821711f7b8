// The bpf(2) calls of DevicePolicy=/DeviceAllow= (systemd.resource-control(5)):
// loading a BPF_PROG_TYPE_CGROUP_DEVICE program and attaching it to a service's
// cgroup2 group, as systemd's src/core/bpf-devices.c does — without libbpf: the
// program is a handful of instructions built by Sources/SwatchCore/Sandbox/DeviceProgram.swift.
// Here because `union bpf_attr` and glibc's syscall() (variadic) do not import into Swift.

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CSwatch.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

_Static_assert(sizeof(struct bpf_insn) == 8, "struct bpf_insn");
const int SWATCH_BPF_DEVCG_ACC_MKNOD = BPF_DEVCG_ACC_MKNOD;
const int SWATCH_BPF_DEVCG_ACC_READ = BPF_DEVCG_ACC_READ;
const int SWATCH_BPF_DEVCG_ACC_WRITE = BPF_DEVCG_ACC_WRITE;
const int SWATCH_BPF_DEVCG_DEV_BLOCK = BPF_DEVCG_DEV_BLOCK;
const int SWATCH_BPF_DEVCG_DEV_CHAR = BPF_DEVCG_DEV_CHAR;

int swatch_bpf_load_cgroup_device(const void *instructions, int count) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)instructions;
    attr.insn_cnt = (uint32_t)count;
    attr.license = (uint64_t)(uintptr_t)"GPL";
    // (BPF_F_*: none. The fd comes close-on-exec: the kernel opens every bpf fd O_CLOEXEC.)
    long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
    return fd < 0 ? -errno : (int)fd;
}

int swatch_bpf_attach_cgroup_device(int cgroup_fd, int program_fd) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)program_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    // No flags: the one program of the group, replacing one attached at an earlier start.
    attr.attach_flags = 0;
    return syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0 ? errno : 0;
}
