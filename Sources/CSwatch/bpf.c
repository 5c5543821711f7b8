// The bpf(2) calls of DevicePolicy=/DeviceAllow=, IPAddressAllow=/IPAddressDeny=,
// IPIngressFilterPath=/IPEgressFilterPath= and SocketBindAllow=/SocketBindDeny=
// (systemd.resource-control(5)): loading a cgroup program or opening a pinned one, attaching
// it to a service's cgroup2 group, and the LPM-trie maps of the IP filter, as systemd's
// src/core/bpf-devices.c and src/core/bpf-firewall.c do — without libbpf: the programs
// are a handful of instructions built by Sources/SwatchCore/Sandbox/DeviceProgram.swift
// and IPFilterProgram.swift. Here because `union bpf_attr` and glibc's syscall()
// (variadic) do not import into Swift. Every fd bpf(2) returns is close-on-exec.

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CSwatch.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
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
const int SWATCH_BPF_PROG_TYPE_CGROUP_DEVICE = BPF_PROG_TYPE_CGROUP_DEVICE;
const int SWATCH_BPF_PROG_TYPE_CGROUP_SKB = BPF_PROG_TYPE_CGROUP_SKB;
const int SWATCH_BPF_CGROUP_DEVICE = BPF_CGROUP_DEVICE;
const int SWATCH_BPF_CGROUP_INET_INGRESS = BPF_CGROUP_INET_INGRESS;
const int SWATCH_BPF_CGROUP_INET_EGRESS = BPF_CGROUP_INET_EGRESS;
const int SWATCH_BPF_PROG_TYPE_CGROUP_SOCK_ADDR = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
const int SWATCH_BPF_CGROUP_INET4_BIND = BPF_CGROUP_INET4_BIND;
const int SWATCH_BPF_CGROUP_INET6_BIND = BPF_CGROUP_INET6_BIND;
const int SWATCH_BPF_PSEUDO_MAP_FD = BPF_PSEUDO_MAP_FD;
const int SWATCH_BPF_FUNC_MAP_LOOKUP_ELEM = BPF_FUNC_map_lookup_elem;
const int SWATCH_BPF_FUNC_SKB_LOAD_BYTES = BPF_FUNC_skb_load_bytes;
const int SWATCH_SKB_PROTOCOL_OFFSET = offsetof(struct __sk_buff, protocol);
const int SWATCH_SKB_IFINDEX_OFFSET = offsetof(struct __sk_buff, ifindex);

int swatch_bpf_load_program(int type, int expected_attach_type, const void *instructions, int count,
                            char *_Nullable log, unsigned log_size) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = (uint32_t)type;
    attr.expected_attach_type = (uint32_t)expected_attach_type;
    attr.insns = (uint64_t)(uintptr_t)instructions;
    attr.insn_cnt = (uint32_t)count;
    attr.license = (uint64_t)(uintptr_t)"GPL";
    if (log && log_size > 0) {
        log[0] = '\0';
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = log_size;
        attr.log_level = 1;
    }
    long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
    return fd < 0 ? -errno : (int)fd;
}

/// The ids of the programs attached to the group as `attach_type`, at most `room`, and the
/// flags they were attached with: how many, or -errno.
static int attached_ids(int cgroup_fd, int attach_type, uint32_t *ids, uint32_t room, uint32_t *flags) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = (uint32_t)cgroup_fd;
    attr.query.attach_type = (uint32_t)attach_type;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.query.prog_cnt = room;
    if (syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)) < 0) return -errno;
    *flags = attr.query.attach_flags;
    return (int)(attr.query.prog_cnt < room ? attr.query.prog_cnt : room);
}

/// The id of the program `program_fd`: 0 when the kernel does not say.
static uint32_t program_id(int program_fd) {
    struct bpf_prog_info info;
    memset(&info, 0, sizeof(info));
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.info.bpf_fd = (uint32_t)program_fd;
    attr.info.info_len = sizeof(info);
    attr.info.info = (uint64_t)(uintptr_t)&info;
    return syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)) < 0 ? 0 : info.id;
}

static int attach(int cgroup_fd, int program_fd, int attach_type, uint32_t flags) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)program_fd;
    attr.attach_type = (uint32_t)attach_type;
    attr.attach_flags = flags;
    return syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0 ? errno : 0;
}

/// Detaches the program of id `id` (0: already done); one gone meanwhile is no error.
static int detach_id(int cgroup_fd, int attach_type, uint32_t id) {
    if (id == 0) return 0;
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_id = id;
    long program = syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &attr, sizeof(attr));
    if (program < 0) return errno == ENOENT ? 0 : errno;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)program;
    attr.attach_type = (uint32_t)attach_type;
    int failed = syscall(SYS_bpf, BPF_PROG_DETACH, &attr, sizeof(attr)) < 0 ? errno : 0;
    close((int)program);
    return failed == ENOENT ? 0 : failed;
}

int swatch_bpf_replace(int cgroup_fd, int attach_type, const int *programs, int count) {
    uint32_t before[64], flags = 0;
    int found = attached_ids(cgroup_fd, attach_type, before, 64, &flags);
    if (found < 0) return -found;
    if (found > 0 && !(flags & BPF_F_ALLOW_MULTI)) {
        // One program attached without BPF_F_ALLOW_MULTI (an older swatchd's, kept over a
        // re-exec) takes no other beside it. One of ours replaces it in place, attached the
        // same way; several go on once it is off.
        if (count == 1) return attach(cgroup_fd, programs[0], attach_type, 0);
        int failed = detach_id(cgroup_fd, attach_type, before[0]);
        if (failed) return failed;
        found = 0;
    }
    for (int i = 0; i < count; i++) {
        // Attached already (a pinned program, at an earlier start): it stays, once.
        uint32_t id = program_id(programs[i]);
        int kept = 0;
        for (int j = 0; j < found; j++) {
            if (id != 0 && before[j] == id) { before[j] = 0; kept = 1; }
        }
        if (kept) continue;
        int error = attach(cgroup_fd, programs[i], attach_type, BPF_F_ALLOW_MULTI);
        if (error) return error;
    }
    for (int j = 0; j < found; j++) {
        int failed = detach_id(cgroup_fd, attach_type, before[j]);
        if (failed) return failed;
    }
    return 0;
}

int swatch_bpf_obj_get(const char *path) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.pathname = (uint64_t)(uintptr_t)path;
    long fd = syscall(SYS_bpf, BPF_OBJ_GET, &attr, sizeof(attr));
    return fd < 0 ? -errno : (int)fd;
}

int swatch_bpf_create_lpm_trie(int key_size, int max_entries) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.map_type = BPF_MAP_TYPE_LPM_TRIE;
    attr.key_size = (uint32_t)key_size;
    attr.value_size = sizeof(uint64_t);
    attr.max_entries = (uint32_t)max_entries;
    // An LPM trie must not be preallocated (bpf(2), BPF_MAP_TYPE_LPM_TRIE).
    attr.map_flags = BPF_F_NO_PREALLOC;
    long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
    return fd < 0 ? -errno : (int)fd;
}

int swatch_bpf_map_update(int map_fd, const void *key, const void *value) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.map_fd = (uint32_t)map_fd;
    attr.key = (uint64_t)(uintptr_t)key;
    attr.value = (uint64_t)(uintptr_t)value;
    attr.flags = BPF_ANY;
    return syscall(SYS_bpf, BPF_MAP_UPDATE_ELEM, &attr, sizeof(attr)) < 0 ? errno : 0;
}
