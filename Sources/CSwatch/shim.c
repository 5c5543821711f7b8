// The C side of swatchd: wrappers for what Swift cannot import, and the
// spawner's fork→exec window (swatch_spawn).
//
// Sandboxing (systemd.exec(5): User=, DynamicUser=, capabilities, PrivateDevices=,
// PrivateTmp=, ProtectSystem=, Limit*=, ...) is applied HERE, in the cloned child
// between clone and execve — not by a separate exec helper. Why:
// - a helper executable costs ~2.3 ms and a second exec per start, and
//   would need its own way to report which step failed; the child already has one
//   (`ctx->step`/`ctx->error`, read by the parent after CLONE_VFORK returns);
// - everything that is not async-signal-safe is done by the parent before the
//   clone: user and group lookups (getpwnam, getgrouplist), the dynamic uid,
//   /proc/self/mountinfo, every path string, the capability numbers, the mount
//   plan. The parent hands over a flat array of `swatch_sandbox_op`, and the
//   child only walks it issuing system calls (unshare, mount, mkdir, symlink,
//   open/write/close, setrlimit, setpriority, prctl, setgroups/setresgid/
//   setresuid and capset as raw syscalls). It allocates nothing and takes no lock.
// - the raw syscalls matter: glibc's setresuid/setgroups broadcast the change to
//   every thread of the process ("setxid"), and this child shares the parent's
//   memory and thread list (CLONE_VM) — the broadcast would reach swatchd's own
//   threads. The kernel calls change only the calling task, which is the child.
// The order of the operations is stated once, in `sandbox_execution_order`
// below, with its reasons; the child walks the array in the order it is given
// and does not reorder.

// Package.swift defines _GNU_SOURCE for this target; say so here too, for a
// reader and for any other build of this file.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CSwatch.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <pthread.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <linux/keyctl.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>

const int SWATCH_O_NOATIME = O_NOATIME;
const int SWATCH_SCM_CREDENTIALS = SCM_CREDENTIALS;
const int SWATCH_MSG_CMSG_CLOEXEC = MSG_CMSG_CLOEXEC;
const int SWATCH_F_SETPIPE_SZ = F_SETPIPE_SZ;
const int SWATCH_F_GETPIPE_SZ = F_GETPIPE_SZ;
const unsigned int SWATCH_CLOSE_RANGE_CLOEXEC = CLOSE_RANGE_CLOEXEC;
const int SWATCH_SO_TIMESTAMP = SO_TIMESTAMP;
const int SWATCH_SO_TIMESTAMPNS = SO_TIMESTAMPNS;
const int SWATCH_SOL_NETLINK = SOL_NETLINK;
const int SWATCH_NETLINK_PKTINFO = NETLINK_PKTINFO;
/* Newer than Debian 12's headers: the values of Linux's
 * include/uapi/asm-generic/socket.h (x86-64 and arm64 use those). */
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83
#endif
const int SWATCH_SO_PASSPIDFD = SO_PASSPIDFD;
const int SWATCH_SO_PASSRIGHTS = SO_PASSRIGHTS;
const long SWATCH_CGROUP2_SUPER_MAGIC = CGROUP2_SUPER_MAGIC;
const int SWATCH_CLONE_NEWNS = CLONE_NEWNS;
const int SWATCH_CLONE_NEWUTS = CLONE_NEWUTS;
const int SWATCH_CLONE_NEWIPC = CLONE_NEWIPC;
const int SWATCH_CLONE_NEWNET = CLONE_NEWNET;
const int SWATCH_CLONE_NEWUSER = CLONE_NEWUSER;
const int SWATCH_CLONE_NEWPID = CLONE_NEWPID;
const int SWATCH_CLONE_NEWCGROUP = CLONE_NEWCGROUP;

_Static_assert(sizeof(struct swatch_ucred) == sizeof(struct ucred), "struct ucred mirror");
_Static_assert(offsetof(struct swatch_ucred, gid) == offsetof(struct ucred, gid), "struct ucred mirror");

int swatch_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}

int swatch_pipe2(int fds[2], int flags) {
    return pipe2(fds, flags);
}

int swatch_setns(int fd, int nstype) {
    return setns(fd, nstype);
}

int swatch_mq_open(const char *name, int flags, mode_t mode, long max_messages, long message_size) {
    struct mq_attr attr = { .mq_flags = flags & O_NONBLOCK, .mq_maxmsg = max_messages, .mq_msgsize = message_size };
    return mq_open(name, flags | O_CREAT, mode, max_messages > 0 && message_size > 0 ? &attr : NULL);
}

int swatch_mq_unlink(const char *name) {
    return mq_unlink(name);
}

void swatch_mq_flush(int fd, int limit) {
    struct mq_attr attr;
    if (mq_getattr(fd, &attr) < 0 || attr.mq_msgsize <= 0) return;
    char *message = malloc((size_t)attr.mq_msgsize);
    if (!message) return;
    /* A poll that does not wait before each receive: the service may have left
     * the queue blocking (the O_NONBLOCK of the open file, NonBlocking=). */
    struct pollfd entry = { .fd = fd, .events = POLLIN };
    for (int i = 0; i < limit && poll(&entry, 1, 0) == 1 && (entry.revents & POLLIN); i++)
        (void)mq_receive(fd, message, (size_t)attr.mq_msgsize, NULL);
    free(message);
}

int swatch_random_bytes(void *buffer, size_t length) {
    size_t filled = 0;
    while (filled < length) {
        ssize_t n = getrandom((char *)buffer + filled, length - filled, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        filled += (size_t)n;
    }
    return 0;
}

int swatch_prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5) {
    return prctl(option, arg2, arg3, arg4, arg5);
}

int swatch_close_range(unsigned int first, unsigned int last, unsigned int flags) {
    return (int)syscall(__NR_close_range, first, last, flags);
}

int swatch_pidfd_open(pid_t pid, unsigned int flags) {
    return (int)syscall(__NR_pidfd_open, pid, flags);
}

int swatch_pidfd_send_signal(int pidfd, int signal) {
    return (int)syscall(__NR_pidfd_send_signal, pidfd, signal, NULL, 0);
}

int swatch_memfd_create(const char *name, unsigned int flags) {
    return memfd_create(name, flags);
}

const char *swatch_errno_name(int error) {
    return strerrorname_np(error);
}

int swatch_ignore_signal(int signal) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = SIG_IGN;
    return sigaction(signal, &action, NULL);
}

int swatch_ipc_remove(int kind, int id) {
    switch (kind) {
    case SWATCH_IPC_SHARED_MEMORY: return shmctl(id, IPC_RMID, NULL);
    case SWATCH_IPC_SEMAPHORE_SET: return semctl(id, 0, IPC_RMID);
    case SWATCH_IPC_MESSAGE_QUEUE: return msgctl(id, IPC_RMID, NULL);
    default:
        errno = EINVAL;
        return -1;
    }
}

const char *swatch_spawn_step_name(int step) {
    switch (step) {
    case SWATCH_SPAWN_STEP_NONE: return "none";
    case SWATCH_SPAWN_STEP_STACK: return "mmap";
    case SWATCH_SPAWN_STEP_CLONE: return "clone";
    case SWATCH_SPAWN_STEP_SETSID: return "setsid";
    case SWATCH_SPAWN_STEP_CGROUP: return "cgroup";
    case SWATCH_SPAWN_STEP_FDS: return "fds";
    case SWATCH_SPAWN_STEP_TTY: return "TIOCSCTTY";
    case SWATCH_SPAWN_STEP_CHDIR: return "chdir";
    case SWATCH_SPAWN_STEP_CLOSE_RANGE: return "close_range";
    case SWATCH_SPAWN_STEP_EXECVE: return "execve";
    case SWATCH_SPAWN_STEP_DIED: return "signal";
    case SWATCH_SPAWN_STEP_RLIMIT: return "setrlimit";
    case SWATCH_SPAWN_STEP_NICE: return "setpriority";
    case SWATCH_SPAWN_STEP_OOM_SCORE_ADJUST: return "oom_score_adj";
    case SWATCH_SPAWN_STEP_UNSHARE: return "unshare";
    case SWATCH_SPAWN_STEP_MOUNT: return "mount";
    case SWATCH_SPAWN_STEP_BOUNDING_SET: return "capbset";
    case SWATCH_SPAWN_STEP_KEEP_CAPS: return "keepcaps";
    case SWATCH_SPAWN_STEP_GROUPS: return "setgroups";
    case SWATCH_SPAWN_STEP_GID: return "setresgid";
    case SWATCH_SPAWN_STEP_UID: return "setresuid";
    case SWATCH_SPAWN_STEP_CAPABILITIES: return "capset";
    case SWATCH_SPAWN_STEP_AMBIENT: return "ambient";
    case SWATCH_SPAWN_STEP_NO_NEW_PRIVS: return "no_new_privs";
    case SWATCH_SPAWN_STEP_SECCOMP: return "seccomp";
    case SWATCH_SPAWN_STEP_LOOPBACK: return "loopback";
    case SWATCH_SPAWN_STEP_USER_NAMESPACE: return "userns";
    case SWATCH_SPAWN_STEP_SCHEDULER: return "sched_setscheduler";
    case SWATCH_SPAWN_STEP_IO_PRIORITY: return "ioprio_set";
    case SWATCH_SPAWN_STEP_PRIVATE_USERS: return "private_users";
    case SWATCH_SPAWN_STEP_PRIVATE_USERS_MAP: return "private_users_map";
    case SWATCH_SPAWN_STEP_CPU_AFFINITY: return "sched_setaffinity";
    case SWATCH_SPAWN_STEP_MEMORY_POLICY: return "set_mempolicy";
    case SWATCH_SPAWN_STEP_TIMER_SLACK: return "timerslack";
    case SWATCH_SPAWN_STEP_PERSONALITY: return "personality";
    case SWATCH_SPAWN_STEP_KEYRING: return "keyring";
    case SWATCH_SPAWN_STEP_SECUREBITS: return "securebits";
    default: return "unknown";
    }
}

static int swatch_spawn_test_without_close_range = 0;

void swatch_spawn_test_set_without_close_range(int enabled) {
    swatch_spawn_test_without_close_range = enabled;
}

// MARK: - Handing the child its descriptors
//
// clone copies the parent's descriptor table and takes a reference on every
// open file, and execve drops the copies again: ~95 ns per descriptor
// (scripts/spawn-cost.c), 0.1 ms of every spawn for a swatchd holding 1000
// listening sockets (docs/HACKING.md "Per activation"). Instead the child
// shares the table (CLONE_FILES) and leaves it with close_range(R + 1, ~0U,
// CLOSE_RANGE_UNSHARE), which copies only the descriptors below R + 1
// (close_range(2)) — R being the receiving end of a socket pair made while
// swatchd's table was still nearly empty (Daemon.run): 3, unless swatchd
// inherited more than 0, 1 and 2. The descriptors the child needs arrive in
// one datagram the parent sent before the clone (SCM_RIGHTS, unix(7)).

/// At most this many descriptors travel in one SCM_RIGHTS message (SCM_MAX_FD,
/// include/net/scm.h); a child that needs more gets a copy of the table.
#define SWATCH_HANDOFF_MAX 253

/// The socket pair, [0] receiving (the lower number), [1] sending; -1 until
/// swatch_spawn_prepare_handoff. Spawns from several threads (the tests) take
/// the lock from the send to the drain, so a child only ever finds its own datagram.
static int handoff_pair[2] = {-1, -1};
static pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;

/// Whether a child could leave a shared table with close_range(2)'s
/// CLOSE_RANGE_UNSHARE: Linux 5.9, and not refused by a container's seccomp
/// profile (EPERM from one that predates the call). Asked of swatchd's own
/// table, which nobody shares, so nothing is copied, and of a range above every
/// descriptor, so nothing is closed.
static int close_range_can_unshare(void) {
    if (swatch_spawn_test_without_close_range) {
        errno = ENOSYS;
        return 0;
    }
    return swatch_close_range(~0U - 1, ~0U, CLOSE_RANGE_UNSHARE) == 0;
}

int swatch_spawn_prepare_handoff(void) {
    pthread_mutex_lock(&handoff_lock);
    int error = 0;
    int pair[2];
    if (handoff_pair[0] >= 0) {
        // Prepared already.
    } else if (!close_range_can_unshare()) {
        error = errno;
    } else if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0) {
        error = errno;
    } else {
        handoff_pair[0] = pair[0] < pair[1] ? pair[0] : pair[1];
        handoff_pair[1] = pair[0] < pair[1] ? pair[1] : pair[0];
    }
    pthread_mutex_unlock(&handoff_lock);
    return error;
}

int swatch_spawn_handoff_descriptor(void) {
    return handoff_pair[0];
}

/// How many children took their descriptors through the handoff (tests).
static atomic_ulong handoff_spawns;

unsigned long swatch_spawn_handoff_count(void) {
    return atomic_load(&handoff_spawns);
}

/// The descriptor the child gets at `i`: 0, 1, 2, then the passed ones.
static int source_fd(const struct swatch_spawn_request *req, int i) {
    return i == 0 ? req->stdin_fd : i == 1 ? req->stdout_fd : i == 2 ? req->stderr_fd : req->fds[i - 3];
}

/// Room for the largest SCM_RIGHTS message, aligned for its header.
union handoff_control {
    char bytes[CMSG_SPACE(sizeof(int) * SWATCH_HANDOFF_MAX)];
    struct cmsghdr align;
};

/// Sends the child's `total` descriptors, in order, as one datagram.
static int handoff_send(const struct swatch_spawn_request *req, int total) {
    union handoff_control control;
    memset(&control, 0, sizeof(control));
    char byte = 0;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr message = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.bytes, .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)total),
    };
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)total);
    for (int i = 0; i < total; i++) {
        int fd = source_fd(req, i);
        memcpy(CMSG_DATA(header) + sizeof(int) * (size_t)i, &fd, sizeof(int));
    }
    ssize_t sent;
    do {
        sent = sendmsg(handoff_pair[1], &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent == 1 ? 0 : -1;
}

/// Takes one datagram off the handoff socket and stores its descriptors
/// (close-on-exec) in `fds`; returns how many, or -1 with errno (EAGAIN: none
/// waiting). Async-signal-safe: the child calls it.
static int handoff_receive(int socket, int fds[SWATCH_HANDOFF_MAX]) {
    union handoff_control control;
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr message = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof(control.bytes),
    };
    ssize_t got;
    do {
        got = recvmsg(socket, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (got < 0 && errno == EINTR);
    if (got < 0)
        return -1;
    int count = 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n && count < SWATCH_HANDOFF_MAX; i++)
            memcpy(&fds[count++], CMSG_DATA(header) + sizeof(int) * i, sizeof(int));
    }
    if (message.msg_flags & MSG_CTRUNC) {
        for (int i = 0; i < count; i++)
            close(fds[i]);
        errno = EMSGSIZE;
        return -1;
    }
    return count;
}

/// After the child: a datagram it never took (it failed or died first) would
/// keep its descriptors alive in the socket's queue, and the next child would
/// find it. Close what it carried; if the queue cannot be emptied, stop using
/// the handoff at all.
static void handoff_drain(void) {
    int fds[SWATCH_HANDOFF_MAX];
    for (;;) {
        int count = handoff_receive(handoff_pair[0], fds);
        if (count < 0)
            break;
        for (int i = 0; i < count; i++)
            close(fds[i]);
    }
    if (errno != EAGAIN) {
        close(handoff_pair[0]);
        close(handoff_pair[1]);
        handoff_pair[0] = handoff_pair[1] = -1;
    }
}

// MARK: - The child, between clone and execve
//
// The child shares the parent's memory (CLONE_VM) and runs on its own stack
// while the parent is suspended (CLONE_VFORK). Only async-signal-safe calls:
// no malloc, no stdio, no locks — everything was prepared by the parent.

/// What the child reads (the request) and writes back (the failure), shared through CLONE_VM.
struct child_context {
    const struct swatch_spawn_request *req;
    /// n + 3 ints of scratch space for the fd shuffle, allocated by the parent.
    int *scratch;
    /// The receiving end of the descriptor handoff when the child shares the
    /// parent's descriptor table (CLONE_FILES) and takes its descriptors from
    /// the datagram the parent sent; -1 when it gets a copy of the table.
    int handoff_fd;
    /// Set by the child once it took the datagram off the handoff socket: the
    /// parent drains it otherwise.
    volatile int handoff_received;
    /// Set by the parent before the clone: 1 when clone3(CLONE_INTO_CGROUP)
    /// created the child in the service's cgroup, 0 when the child must join
    /// it itself through cgroup.procs (see "Spawning into the cgroup" below).
    int born_in_cgroup;
    /// Set by the child as its very first act: still 0 after a clone means
    /// the child was killed before it ran a single instruction.
    volatile int started;
    /// The last step the child started; EXECVE once it calls execve.
    volatile int step;
    /// 0, or the errno of `step`.
    volatile int error;
};

/// Records the failure where the parent will read it, and ends the child
/// (127, as a shell does for a command that could not be run).
static _Noreturn void child_fail(struct child_context *ctx, int step) {
    ctx->error = errno ? errno : EINVAL;
    ctx->step = step;
    _exit(127);
}

/// Writes `pid` in decimal into `slot`, NUL-terminated (at most 21 bytes).
static void write_pid(char *slot, pid_t pid) {
    char digits[21];
    int n = 0;
    unsigned long v = (unsigned long)pid;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 && n < 20);
    for (int i = 0; i < n; i++)
        slot[i] = digits[n - 1 - i];
    slot[n] = '\0';
}

/// Marks every fd >= `first` close-on-exec when close_range(2) cannot (kernel
/// < 5.11): list /proc/self/fd with getdents64, marking rather than closing so
/// the listing is not disturbed while we read it; without /proc, walk up to
/// RLIMIT_NOFILE.
static int mark_cloexec_from(int first) {
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        char buffer[4096] __attribute__((aligned(8)));
        for (;;) {
            long n = syscall(SYS_getdents64, dir, buffer, sizeof(buffer));
            if (n < 0) {
                int e = errno;
                close(dir);
                errno = e;
                return -1;
            }
            if (n == 0)
                break;
            for (long offset = 0; offset < n;) {
                struct dirent64 *entry = (struct dirent64 *)(buffer + offset);
                offset += entry->d_reclen;
                int fd = 0;
                const char *p = entry->d_name;
                if (*p < '0' || *p > '9')
                    continue;
                for (; *p >= '0' && *p <= '9'; p++)
                    fd = fd * 10 + (*p - '0');
                if (fd >= first && fd != dir)
                    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
            }
        }
        close(dir);
        return 0;
    }
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
        return -1;
    int top = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > 1 << 20 ? 1 << 20 : (int)limit.rlim_cur;
    for (int fd = first; fd < top; fd++)
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    return 0;
}

/// The kernel's `struct sigaction` for rt_sigaction(2) (not glibc's: the
/// mask is the kernel's 64 bits, and there is no restorer needed for SIG_DFL).
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

/// Sets the signals of `which` (bit N-1 for signal N) back to SIG_DFL, but
/// SIGKILL and SIGSTOP, whose disposition cannot change. The raw system call,
/// because glibc's sigaction refuses its internal signals 32 and 33 — seen
/// ignored in a Swift test process, and posix_spawn leaves them so.
/// Async-signal-safe: the spawned child calls it.
static void set_default_dispositions(uint64_t which) {
    struct kernel_sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || !(which & ((uint64_t)1 << (sig - 1))))
            continue;
        (void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
    }
}

/// The signals of this process, bit N-1 for signal N, at SIG_IGN
/// (`only_ignored`), or at anything but SIG_DFL (then one that cannot be asked
/// about counts too). The raw call, as set_default_dispositions: glibc's
/// sigaction refuses to answer for its internal signals 32 and 33.
static uint64_t signals_not_at_default(int only_ignored) {
    uint64_t found = 0;
    for (int sig = 1; sig < NSIG; sig++) {
        struct kernel_sigaction current;
        int asked = syscall(SYS_rt_sigaction, sig, NULL, &current, sizeof(current.mask)) == 0;
        if (only_ignored ? asked && current.handler == SIG_IGN : !asked || current.handler != SIG_DFL)
            found |= (uint64_t)1 << (sig - 1);
    }
    return found;
}

int swatch_reset_ignored_signals(void) {
    set_default_dispositions(signals_not_at_default(1));
    return 0;
}

/// The signals whose disposition is not SIG_DFL in this process, bit N-1 for
/// signal N, as swatch_spawn_prepare_signals found them; all of them until it
/// is called (a process that never calls it, the unit tests, resets every one).
static uint64_t signals_to_reset = ~(uint64_t)0;

int swatch_spawn_prepare_signals(void) {
    signals_to_reset = signals_not_at_default(0);
    return 0;
}

/// The order in which the sandboxing operations run, by the step (enum
/// swatch_spawn_step) each belongs to (`sandbox_step`) — the one statement of
/// it. The Swift side reads it (`SandboxStep.Kind.executionOrder`, through
/// `swatch_sandbox_execution_order`), SandboxPlan emits the operations sorted
/// by it, and Tests/SwatchCoreTests/Sandbox/SandboxStepOrderTests.swift checks
/// that both sides agree. The order is fixed by the privileges each step needs
/// (capabilities(7), credentials(7)):
/// - rlimits, nice, the CPU and I/O scheduling and oom_score_adj while still
///   root: raising a hard limit, a real-time policy or I/O class and lowering a
///   score need CAP_SYS_RESOURCE/CAP_SYS_NICE/CAP_SYS_ADMIN (systemd's
///   exec_child sets them in this order too, src/core/exec-invoke.c); then the
///   CPU affinity, the NUMA memory policy, the timer slack and the
///   personality, which need nothing;
/// - the session keyring (KeyringMode=), while the child can still switch its
///   real uid to the service's and back (CAP_SETUID), and before any namespace:
///   it belongs to the host's keyrings (systemd sets it up before the
///   namespaces too);
/// - the user namespace (only when swatchd is not root) before any other
///   namespace: the ones unshared after it belong to it, and the full set of
///   capabilities the child holds in it is what lets it unshare and mount
///   there (user_namespaces(7); systemd's setup_private_users,
///   src/core/exec-invoke.c, for its user manager);
/// - the namespaces (setns for a named one, unshare), `lo` up in a new network namespace
///   (CAP_NET_ADMIN), and the mounts: CAP_SYS_ADMIN;
/// - setgroups and setresgid (CAP_SETGID) while still root in the host's user
///   namespace: PrivateUsers= denies setgroups(2) in the service's own;
/// - PrivateUsers= (as root): the user namespace of the service, after the
///   mounts, so that the mount namespace and the others belong to the host's
///   user namespace and the service cannot undo them, and after the groups;
///   before everything that touches capabilities, because entering a user
///   namespace resets the bounding set, the securebits (keepcaps) and the
///   capability sets (set_cred_user_ns, kernel/user_namespace.c). systemd's
///   exec_child() orders enforce_groups(), setup_private_users(), the bounding
///   set and enforce_user() so (src/core/execute.c; src/core/exec-invoke.c in
///   later versions);
/// - dropping from the bounding set: CAP_SETPCAP, so before the uid changes;
/// - PR_SET_KEEPCAPS before setresuid, when ambient capabilities must survive it;
/// - setresuid last of the identity: "drop the group before the user";
/// - the securebits (SecureBits=) right after it, with the CAP_SETPCAP that
///   keep-caps kept permitted, and before capset takes it away;
/// - capset, then PR_CAP_AMBIENT_RAISE (an ambient capability must be
///   permitted and inheritable first);
/// - PR_SET_NO_NEW_PRIVS;
/// - the seccomp filters last: loading one needs no_new_privs or CAP_SYS_ADMIN
///   (seccomp(2)), and a filter may forbid what the steps before it call
///   (mount, setresuid, prctl). The child even holds them back until every
///   other thing it does is done — chdir, close_range, sigprocmask — and loads
///   them right before execve (child_main, 8b), as systemd loads its filters
///   last (src/core/execute.c, exec_child).
static const int sandbox_execution_order[] = {
    SWATCH_SPAWN_STEP_RLIMIT,
    SWATCH_SPAWN_STEP_NICE,
    SWATCH_SPAWN_STEP_SCHEDULER,
    SWATCH_SPAWN_STEP_IO_PRIORITY,
    SWATCH_SPAWN_STEP_OOM_SCORE_ADJUST,
    SWATCH_SPAWN_STEP_CPU_AFFINITY,
    SWATCH_SPAWN_STEP_MEMORY_POLICY,
    SWATCH_SPAWN_STEP_TIMER_SLACK,
    SWATCH_SPAWN_STEP_PERSONALITY,
    SWATCH_SPAWN_STEP_KEYRING,
    SWATCH_SPAWN_STEP_USER_NAMESPACE,
    SWATCH_SPAWN_STEP_UNSHARE,
    SWATCH_SPAWN_STEP_LOOPBACK,
    SWATCH_SPAWN_STEP_MOUNT,
    SWATCH_SPAWN_STEP_GROUPS,
    SWATCH_SPAWN_STEP_GID,
    SWATCH_SPAWN_STEP_PRIVATE_USERS,
    SWATCH_SPAWN_STEP_BOUNDING_SET,
    SWATCH_SPAWN_STEP_KEEP_CAPS,
    SWATCH_SPAWN_STEP_UID,
    SWATCH_SPAWN_STEP_SECUREBITS,
    SWATCH_SPAWN_STEP_CAPABILITIES,
    SWATCH_SPAWN_STEP_AMBIENT,
    SWATCH_SPAWN_STEP_NO_NEW_PRIVS,
    SWATCH_SPAWN_STEP_SECCOMP,
};

const int *swatch_sandbox_execution_order(int *count) {
    *count = (int)(sizeof(sandbox_execution_order) / sizeof(sandbox_execution_order[0]));
    return sandbox_execution_order;
}

/// The spawn step an operation reports when it fails.
static int sandbox_step(int kind) {
    switch (kind) {
    case SWATCH_SANDBOX_SETRLIMIT: return SWATCH_SPAWN_STEP_RLIMIT;
    case SWATCH_SANDBOX_SETPRIORITY: return SWATCH_SPAWN_STEP_NICE;
    case SWATCH_SANDBOX_WRITE_FILE: return SWATCH_SPAWN_STEP_OOM_SCORE_ADJUST;
    case SWATCH_SANDBOX_UNSHARE: return SWATCH_SPAWN_STEP_UNSHARE;
    case SWATCH_SANDBOX_CAPBSET_DROP: return SWATCH_SPAWN_STEP_BOUNDING_SET;
    case SWATCH_SANDBOX_KEEPCAPS: return SWATCH_SPAWN_STEP_KEEP_CAPS;
    case SWATCH_SANDBOX_SETGROUPS: return SWATCH_SPAWN_STEP_GROUPS;
    case SWATCH_SANDBOX_SETRESGID: return SWATCH_SPAWN_STEP_GID;
    case SWATCH_SANDBOX_SETRESUID: return SWATCH_SPAWN_STEP_UID;
    case SWATCH_SANDBOX_CAPSET: return SWATCH_SPAWN_STEP_CAPABILITIES;
    case SWATCH_SANDBOX_AMBIENT_RAISE: return SWATCH_SPAWN_STEP_AMBIENT;
    case SWATCH_SANDBOX_NO_NEW_PRIVS: return SWATCH_SPAWN_STEP_NO_NEW_PRIVS;
    case SWATCH_SANDBOX_SECCOMP: return SWATCH_SPAWN_STEP_SECCOMP;
    case SWATCH_SANDBOX_INTERFACE_UP: return SWATCH_SPAWN_STEP_LOOPBACK;
    case SWATCH_SANDBOX_USER_NAMESPACE: return SWATCH_SPAWN_STEP_USER_NAMESPACE;
    case SWATCH_SANDBOX_SCHED_SETSCHEDULER: return SWATCH_SPAWN_STEP_SCHEDULER;
    case SWATCH_SANDBOX_IOPRIO_SET: return SWATCH_SPAWN_STEP_IO_PRIORITY;
    case SWATCH_SANDBOX_PRIVATE_USERS: return SWATCH_SPAWN_STEP_PRIVATE_USERS;
    case SWATCH_SANDBOX_SCHED_SETAFFINITY: return SWATCH_SPAWN_STEP_CPU_AFFINITY;
    case SWATCH_SANDBOX_SET_MEMPOLICY: return SWATCH_SPAWN_STEP_MEMORY_POLICY;
    case SWATCH_SANDBOX_TIMER_SLACK: return SWATCH_SPAWN_STEP_TIMER_SLACK;
    case SWATCH_SANDBOX_PERSONALITY: return SWATCH_SPAWN_STEP_PERSONALITY;
    case SWATCH_SANDBOX_SESSION_KEYRING: return SWATCH_SPAWN_STEP_KEYRING;
    case SWATCH_SANDBOX_SETNS: return SWATCH_SPAWN_STEP_UNSHARE;
    case SWATCH_SANDBOX_SECUREBITS: return SWATCH_SPAWN_STEP_SECUREBITS;
    default: return SWATCH_SPAWN_STEP_MOUNT;
    }
}

int swatch_sandbox_operation_step(int kind) {
    return sandbox_step(kind);
}

/// The flags a bind remount must repeat to keep them: it replaces the
/// mount's nosuid/nodev/noexec with what it is given (statfs f_flags use the
/// MS_* values for these three: ST_NOSUID == MS_NOSUID, ...). The atime flags
/// are kept by the kernel when none is given (ST_RELATIME is not MS_RELATIME).
/// Read-only too (ST_RDONLY == MS_RDONLY): a remount that only adds noexec
/// (NoExecPaths=) must not make a read-only mount writable.
#define SWATCH_KEPT_MOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

/// Writes all of `text` to the existing file `path`: 0, or -1 with errno.
static int write_whole_file(const char *path, const char *text, size_t length) {
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    ssize_t written = write(fd, text, length);
    int e = errno;
    close(fd);
    if (written != (ssize_t)length) {
        errno = written < 0 ? e : EIO;
        return -1;
    }
    return 0;
}

/// Writes "id id 1\n" into `line` (at least 48 bytes); returns its length.
static size_t identity_map_line(char *line, unsigned long id) {
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char)('0' + id % 10);
        id /= 10;
    } while (id > 0 && n < 20);
    size_t length = 0;
    for (int copy = 0; copy < 2; copy++) {
        for (int i = n - 1; i >= 0; i--)
            line[length++] = digits[i];
        line[length++] = ' ';
    }
    line[length++] = '1';
    line[length++] = '\n';
    return length;
}

/// unshare(CLONE_NEWUSER), then the maps of the child's own uid and gid onto
/// themselves. An unprivileged process may write one line mapping its own
/// id, and the gid map only once setgroups(2) is denied (user_namespaces(7)):
/// the child writes them itself, as `unshare --map-current-user` does. The
/// service keeps its uid and gid; it holds every capability in the new
/// namespace until execve, which drops them (a non-root uid, no file
/// capabilities: capabilities(7)), after the mounts are done.
static int enter_user_namespace(uid_t uid, gid_t gid) {
    char line[48];
    if (unshare(CLONE_NEWUSER) < 0)
        return -1;
    if (write_whole_file("/proc/self/setgroups", "deny", 4) < 0 && errno != ENOENT)
        return -1;
    if (write_whole_file("/proc/self/uid_map", line, identity_map_line(line, uid)) < 0)
        return -1;
    return write_whole_file("/proc/self/gid_map", line, identity_map_line(line, gid));
}

/// The text of a PrivateUsers= map: root, and `id` unless it is root too,
/// each onto itself ("0 0 1\nID ID 1\n"); returns its length (at most 54).
static size_t private_users_map(char *text, unsigned long id) {
    memcpy(text, "0 0 1\n", 6);
    return 6 + (id == 0 ? 0 : identity_map_line(text + 6, id));
}

/// Writes `text` to /proc/PID/NAME (NAME at most 15 bytes): 0, or -1 with errno.
static int write_proc_file(pid_t pid, const char *name, const char *text, size_t length) {
    char path[48] = "/proc/";
    write_pid(path + 6, pid);
    size_t end = strlen(path);
    path[end++] = '/';
    strncpy(path + end, name, sizeof(path) - end - 1);
    path[sizeof(path) - 1] = '\0';
    return write_whole_file(path, text, length);
}

/// The helper of `enter_private_users`, in a copy of the child that stayed in
/// the host's user namespace with the child's full capabilities: it waits for
/// the byte the child sends once it has unshared its user namespace, then
/// denies setgroups(2) there and writes its maps. A map of more than the
/// writer's own id needs CAP_SETUID/CAP_SETGID in the parent namespace
/// (user_namespaces(7), "Defining user and group ID mappings"), which the child
/// itself no longer has once it is in the new one. Ends with 0, or with the
/// errno of the write that failed; an end of file instead of the byte means the
/// child gave up, and there is nothing to map.
static _Noreturn void private_users_helper(int ready, pid_t child, uid_t uid, gid_t gid) {
    char byte;
    ssize_t got;
    do {
        got = read(ready, &byte, 1);
    } while (got < 0 && errno == EINTR);
    if (got != 1)
        _exit(0);
    char map[64];
    // "deny", as systemd's setup_private_users() writes it (src/core/exec-invoke.c);
    // ENOENT: a kernel older than the file (3.19), which has no such control.
    if (write_proc_file(child, "setgroups", "deny\n", 5) < 0 && errno != ENOENT)
        _exit(errno ? errno & 0xff : EIO);
    if (write_proc_file(child, "gid_map", map, private_users_map(map, gid)) < 0)
        _exit(errno ? errno & 0xff : EIO);
    if (write_proc_file(child, "uid_map", map, private_users_map(map, uid)) < 0)
        _exit(errno ? errno & 0xff : EIO);
    _exit(0);
}

/// PrivateUsers= as root: a user namespace of the service's own where root and
/// the service's uid and gid map onto themselves and every other id shows as
/// the overflow id (src/core/exec-invoke.c, setup_private_users()). The maps
/// are written by a helper (`private_users_helper`) made before the unshare:
/// a copy of this process (clone without CLONE_VM, as systemd forks its
/// "(sd-userns)"), so that it has a memory and a stack of its own — a helper
/// sharing this child's would run on memory swatchd takes back for its next
/// spawn as soon as this child is gone. Only PrivateUsers= units pay for the
/// copy. The child reaps the helper before it goes on: swatchd never sees it.
/// 0, or -1 with errno; a failure of the helper sets `*step` to
/// SWATCH_SPAWN_STEP_PRIVATE_USERS_MAP.
static int enter_private_users(const struct swatch_sandbox_op *op, int *step) {
    uid_t uid = (uid_t)op->number;
    gid_t gid = (gid_t)op->value;
    pid_t self = (pid_t)syscall(SYS_getpid);
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        return -1;
    // The raw system call, as fork(2) makes it, but without glibc's fork():
    // its atfork handlers and lock resets would act on swatchd's memory.
    long helper = syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, 0UL, 0UL, 0UL);
    if (helper < 0) {
        int e = errno;
        close(ready[0]);
        close(ready[1]);
        errno = e;
        return -1;
    }
    if (helper == 0) {
        close(ready[1]);
        private_users_helper(ready[0], self, uid, gid);
    }
    close(ready[0]);
    int result = unshare(CLONE_NEWUSER);
    int error = errno;
    if (result == 0) {
        ssize_t sent;
        do {
            sent = write(ready[1], "1", 1);
        } while (sent < 0 && errno == EINTR);
        if (sent != 1) {
            result = -1;
            error = sent < 0 ? errno : EIO;
        }
    }
    // Closed either way: on a failure the helper reads an end of file and ends.
    close(ready[1]);
    int status = 0;
    pid_t reaped;
    do {
        reaped = waitpid((pid_t)helper, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    if (result < 0) {
        errno = error;
        return -1;
    }
    if (reaped < 0)
        return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    *step = SWATCH_SPAWN_STEP_PRIVATE_USERS_MAP;
    errno = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
    return -1;
}

/// Key permissions (keyctl_setperm(3), KEY_POS_* and KEY_USR_* of keyutils.h; the kernel's
/// include/linux/key.h): what the possessor and the owner of a key may do with it.
#define SWATCH_KEY_POS_VIEW 0x01000000
#define SWATCH_KEY_POS_READ 0x02000000
#define SWATCH_KEY_POS_SEARCH 0x08000000
#define SWATCH_KEY_USR_VIEW 0x00010000
#define SWATCH_KEY_USR_READ 0x00020000
#define SWATCH_KEY_USR_SEARCH 0x00080000

/// KeyringMode=private/shared (systemd.exec(5)): the command gets a session keyring of its own,
/// shared by the processes it forks and by nothing else, instead of swatchd's, as systemd's
/// setup_keyring() makes it (src/core/exec-invoke.c). The kernel makes the keyring for the real
/// uid and gid of the process that joins it, and links the user keyring of that real uid
/// (join_session_keyring(), security/keys/process_keys.c): both are switched to the
/// service's for the moment, as pam_keyinit does, with the raw system calls — glibc's
/// setreuid would signal the threads of swatchd, whose memory this child shares. A kernel
/// or a seccomp filter that forbids keyrings (ENOSYS, EPERM, EACCES) and a full key quota
/// (EDQUOT) leave the command in swatchd's keyring, as they leave systemd's. The invocation ID
/// goes in as root, readable by the owner and the possessor, as systemd adds it.
static int join_session_keyring(const struct swatch_sandbox_op *op) {
    uid_t uid = (uid_t)op->value, saved_uid = (uid_t)syscall(SYS_getuid);
    gid_t gid = (gid_t)op->value2, saved_gid = (gid_t)syscall(SYS_getgid);
    int switch_uid = op->value != UINT64_MAX && uid != saved_uid;
    int switch_gid = op->value2 != UINT64_MAX && gid != saved_gid;
    if (switch_gid && syscall(SYS_setregid, gid, (gid_t)-1) < 0)
        return -1;
    int result = 0, error = 0, joined = 0;
    if (switch_uid && syscall(SYS_setreuid, uid, (uid_t)-1) < 0) {
        result = -1;
        error = errno;
    } else if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0UL, 0UL, 0UL, 0UL) < 0) {
        if (errno != ENOSYS && errno != EPERM && errno != EACCES && errno != EDQUOT) {
            result = -1;
            error = errno;
        }
    } else {
        joined = 1;
        if (op->number == 1 &&
            syscall(SYS_keyctl, KEYCTL_LINK, KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING, 0UL, 0UL) < 0) {
            result = -1;
            error = errno;
        }
    }
    // Back to root, whatever happened: the steps after this one need it.
    if (switch_uid && syscall(SYS_setreuid, saved_uid, (uid_t)-1) < 0 && result == 0) {
        result = -1;
        error = errno;
    }
    if (switch_gid && syscall(SYS_setregid, saved_gid, (gid_t)-1) < 0 && result == 0) {
        result = -1;
        error = errno;
    }
    if (result == 0 && joined && op->program && op->program_length > 0) {
        // A key that cannot be added is no failure (systemd logs it at debug level).
        long key = syscall(SYS_add_key, "user", "invocation_id", op->program, (size_t)op->program_length,
                           KEY_SPEC_SESSION_KEYRING);
        unsigned long permissions = SWATCH_KEY_POS_VIEW | SWATCH_KEY_POS_READ | SWATCH_KEY_POS_SEARCH |
                                    SWATCH_KEY_USR_VIEW | SWATCH_KEY_USR_READ | SWATCH_KEY_USR_SEARCH;
        if (key >= 0 && syscall(SYS_keyctl, KEYCTL_SETPERM, key, permissions, 0UL, 0UL) < 0) {
            result = -1;
            error = errno;
        }
    }
    errno = error;
    return result;
}

/// SecureBits=: PR_SET_SECUREBITS needs CAP_SETPCAP in the effective set (capabilities(7),
/// "The securebits flags"). After setresuid to another user the kernel empties that set, and
/// keep-caps kept CAP_SETPCAP permitted only: it is raised for the call, as systemd's
/// capability_gain_cap_setpcap() does (src/shared/capability-util.c); execve computes the
/// effective set anew.
static int set_secure_bits(int bits) {
    if (prctl(PR_GET_SECUREBITS, 0UL, 0UL, 0UL, 0UL) == bits)
        return 0;
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    const uint32_t setpcap = 1U << CAP_SETPCAP;  // CAP_SETPCAP is 8: the first word
    if (syscall(SYS_capget, &header, data) == 0 && (data[0].permitted & setpcap) && !(data[0].effective & setpcap)) {
        data[0].effective |= setpcap;
        if (syscall(SYS_capset, &header, data) < 0)
            return -1;
    }
    return prctl(PR_SET_SECUREBITS, (unsigned long)bits, 0UL, 0UL, 0UL);
}

/// Runs one sandboxing operation: 0, or -1 with errno. System calls only.
static int sandbox_apply(const struct swatch_sandbox_op *op) {
    switch (op->kind) {
    case SWATCH_SANDBOX_SETRLIMIT: {
        struct rlimit limit = { .rlim_cur = (rlim_t)op->value, .rlim_max = (rlim_t)op->value2 };
        return setrlimit((int)op->number, &limit);
    }
    case SWATCH_SANDBOX_SETPRIORITY:
        return setpriority(PRIO_PROCESS, 0, (int)op->number);
    case SWATCH_SANDBOX_SCHED_SETSCHEDULER: {
        struct sched_param param = { .sched_priority = (int)op->value };
        return sched_setscheduler(0, (int)op->number, &param);
    }
    case SWATCH_SANDBOX_IOPRIO_SET:
        return (int)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, (int)op->number);
    case SWATCH_SANDBOX_SCHED_SETAFFINITY:
        return (int)syscall(SYS_sched_setaffinity, 0, (size_t)op->program_length, op->program);
    case SWATCH_SANDBOX_SET_MEMPOLICY:
        return (int)syscall(SYS_set_mempolicy, (int)op->number, op->program,
                            (unsigned long)op->program_length * 8 + 1);
    case SWATCH_SANDBOX_TIMER_SLACK:
        return prctl(PR_SET_TIMERSLACK, (unsigned long)op->value, 0UL, 0UL, 0UL);
    case SWATCH_SANDBOX_PERSONALITY:
        // personality(2) returns the previous persona, or -1 with errno.
        return syscall(SYS_personality, (unsigned long)op->number) == -1 ? -1 : 0;
    case SWATCH_SANDBOX_SESSION_KEYRING:
        return join_session_keyring(op);
    case SWATCH_SANDBOX_WRITE_FILE:
        return write_whole_file(op->path, op->data, strlen(op->data));
    case SWATCH_SANDBOX_USER_NAMESPACE:
        return enter_user_namespace((uid_t)op->number, (gid_t)op->value);
    case SWATCH_SANDBOX_UNSHARE:
        return unshare((int)op->number);
    case SWATCH_SANDBOX_SETNS: {
        // setns(2) checks that the file is a namespace of that type (EINVAL otherwise).
        int fd = open(op->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            return -1;
        int result = setns(fd, (int)op->number);
        int e = errno;
        close(fd);
        errno = e;
        return result;
    }
    case SWATCH_SANDBOX_MOUNT:
        return mount(op->source, op->path, op->fstype, op->flags, op->data);
    case SWATCH_SANDBOX_REMOUNT: {
        struct statfs info;
        unsigned long kept = 0;
        if (statfs(op->path, &info) < 0)
            return -1;
        // `number`: flags not to keep (MS_NOEXEC for ExecPaths=).
        kept = (unsigned long)info.f_flags & SWATCH_KEPT_MOUNT_FLAGS & ~(unsigned long)op->number;
        return mount(NULL, op->path, NULL, MS_REMOUNT | MS_BIND | op->flags | kept, NULL);
    }
    case SWATCH_SANDBOX_MKDIR:
        if (mkdir(op->path, (mode_t)op->number) < 0 && errno != EEXIST)
            return -1;
        return 0;
    case SWATCH_SANDBOX_CREATE_FILE: {
        int fd = open(op->path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, (mode_t)op->number);
        if (fd < 0)
            return -1;
        close(fd);
        return 0;
    }
    case SWATCH_SANDBOX_SYMLINK:
        return symlink(op->source, op->path);
    case SWATCH_SANDBOX_CAPBSET_DROP:
        return prctl(PR_CAPBSET_DROP, (unsigned long)op->number, 0, 0, 0);
    case SWATCH_SANDBOX_KEEPCAPS:
        return prctl(PR_SET_KEEPCAPS, (unsigned long)op->number, 0, 0, 0);
    case SWATCH_SANDBOX_SETGROUPS:
        return (int)syscall(SYS_setgroups, (size_t)op->group_count, op->groups);
    case SWATCH_SANDBOX_SETRESGID:
        return (int)syscall(SYS_setresgid, (gid_t)op->number, (gid_t)op->number, (gid_t)op->number);
    case SWATCH_SANDBOX_SETRESUID:
        return (int)syscall(SYS_setresuid, (uid_t)op->number, (uid_t)op->number, (uid_t)op->number);
    case SWATCH_SANDBOX_CAPSET: {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct data[2];
        data[0].effective = data[0].permitted = (uint32_t)op->value;
        data[1].effective = data[1].permitted = (uint32_t)(op->value >> 32);
        data[0].inheritable = (uint32_t)op->value2;
        data[1].inheritable = (uint32_t)(op->value2 >> 32);
        return (int)syscall(SYS_capset, &header, data);
    }
    case SWATCH_SANDBOX_SECUREBITS:
        return set_secure_bits((int)op->number);
    case SWATCH_SANDBOX_AMBIENT_RAISE:
        return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)op->number, 0, 0);
    case SWATCH_SANDBOX_NO_NEW_PRIVS:
        return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    case SWATCH_SANDBOX_SECCOMP: {
        // Without TSYNC: the filter attaches to this task only, never to the
        // parent whose memory (not thread group) the child shares.
        struct sock_fprog program = {
            .len = (unsigned short)op->program_length,
            .filter = (struct sock_filter *)op->program,
        };
        if (!op->program || op->program_length <= 0 || op->program_length > BPF_MAXINSNS) {
            errno = EINVAL;
            return -1;
        }
        return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program);
    }
    case SWATCH_SANDBOX_INTERFACE_UP: {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        struct ifreq request;
        memset(&request, 0, sizeof(request));
        strncpy(request.ifr_name, op->path, IFNAMSIZ - 1);
        int result = ioctl(fd, SIOCGIFFLAGS, &request);
        if (result == 0) {
            request.ifr_flags |= IFF_UP;
            result = ioctl(fd, SIOCSIFFLAGS, &request);
        }
        int e = errno;
        close(fd);
        errno = e;
        return result;
    }
    default:
        errno = EINVAL;
        return -1;
    }
}

/// Whether the errno of a failed operation is one it may ignore.
static int sandbox_ignores(const struct swatch_sandbox_op *op, int error) {
    if ((op->ignore & SWATCH_SANDBOX_IGNORE_MISSING) && (error == ENOENT || error == ENOTDIR))
        return 1;
    if ((op->ignore & SWATCH_SANDBOX_IGNORE_NOT_MOUNTED) && op->kind == SWATCH_SANDBOX_REMOUNT && error == EINVAL)
        return 1;
    if ((op->ignore & SWATCH_SANDBOX_IGNORE_UNSUPPORTED) && error == ENODEV)
        return 1;
    return 0;
}

static int child_main(void *argument) {
    struct child_context *ctx = argument;
    ctx->started = 1;
    const struct swatch_spawn_request *req = ctx->req;
    int n = req->fd_count;

    // 1. Signal dispositions back to SIG_DFL first, so no handler of the
    //    parent (which shares this memory) can run in the child. SIG_IGN
    //    would survive execve (the ignored SIGPIPE of swatchd; docs/HACKING.md,
    //    "Spawning"). Only those that are not SIG_DFL, where
    //    swatch_spawn_prepare_signals found them: a call each for all 62 was
    //    ~45 us of every spawn here.
    uint64_t reset = signals_to_reset;
    if (req->ignore_sigpipe)
        reset &= ~((uint64_t)1 << (SIGPIPE - 1));   // set to SIG_IGN below
    set_default_dispositions(reset);
    //    IgnoreSIGPIPE= (systemd.exec(5), default yes): SIG_IGN survives
    //    execve, so the program starts with SIGPIPE ignored, as under systemd.
    if (req->ignore_sigpipe) {
        struct kernel_sigaction ign;
        memset(&ign, 0, sizeof(ign));
        ign.handler = SIG_IGN;
        (void)syscall(SYS_rt_sigaction, SIGPIPE, &ign, NULL, sizeof(ign.mask));
    }

    // 2. A session of its own: the service's processes are one group that
    //    can be signalled together, detached from swatchd's terminal.
    ctx->step = SWATCH_SPAWN_STEP_SETSID;
    if (setsid() < 0)
        child_fail(ctx, SWATCH_SPAWN_STEP_SETSID);

    // 3. Join the service's cgroup before anything can fork — unless clone3
    //    already created this child there. Writing "0" to cgroup.procs moves
    //    the writer; the fd is opened here, relative to the directory fd,
    //    because only this slower path needs it.
    if (req->cgroup_fd >= 0 && !ctx->born_in_cgroup) {
        ctx->step = SWATCH_SPAWN_STEP_CGROUP;
        int procs = openat(req->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (procs < 0)
            child_fail(ctx, SWATCH_SPAWN_STEP_CGROUP);
        if (write(procs, "0", 1) != 1) {
            int e = errno;
            close(procs);
            errno = e;
            child_fail(ctx, SWATCH_SPAWN_STEP_CGROUP);
        }
        close(procs);
    }

    // 4. The fd shuffle (docs/HACKING.md, "Spawning"): copy every source —
    //    stdin, stdout, stderr, then the passed fds — to a number >= 3+n
    //    first, then dup2 each copy down to its target. A copy never sits at
    //    its target, so dup2 always makes a new descriptor and clears
    //    FD_CLOEXEC on it, and no target overwrites a source still needed
    //    (dup2(4→3) then dup2(3→4) would leave both the same socket). The
    //    copies stay close-on-exec and vanish at execve.
    ctx->step = SWATCH_SPAWN_STEP_FDS;
    int total = n + 3;
    int received[SWATCH_HANDOFF_MAX];
    if (ctx->handoff_fd >= 0) {
        //    With the handoff (see "Handing the child its descriptors"), first a
        //    table of its own holding the descriptors up to the socket (the
        //    parent made sure close_range can), then the sources from the
        //    parent's datagram.
        if (swatch_close_range((unsigned)ctx->handoff_fd + 1, ~0U, CLOSE_RANGE_UNSHARE) < 0)
            child_fail(ctx, SWATCH_SPAWN_STEP_FDS);
        int count = handoff_receive(ctx->handoff_fd, received);
        if (count >= 0)
            ctx->handoff_received = 1;
        if (count != total) {
            errno = count < 0 ? errno : EBADMSG;
            child_fail(ctx, SWATCH_SPAWN_STEP_FDS);
        }
    }
    for (int i = 0; i < total; i++) {
        int source = ctx->handoff_fd >= 0 ? received[i] : source_fd(req, i);
        int copy = fcntl(source, F_DUPFD_CLOEXEC, total);
        if (copy < 0)
            child_fail(ctx, SWATCH_SPAWN_STEP_FDS);
        ctx->scratch[i] = copy;
    }
    for (int i = 0; i < total; i++) {
        if (dup2(ctx->scratch[i], i) < 0)
            child_fail(ctx, SWATCH_SPAWN_STEP_FDS);
    }
    // StandardInput=tty*: the terminal now on fd 0 becomes the controlling
    // terminal of the session step 2 made (tty_ioctl(4); systemd's
    // acquire_terminal(), src/basic/terminal-util.c). Without force it fails
    // with EPERM while another session has it.
    if (req->controlling_terminal) {
        ctx->step = SWATCH_SPAWN_STEP_TTY;
        if (ioctl(0, TIOCSCTTY, req->controlling_terminal == 2 ? 1 : 0) < 0)
            child_fail(ctx, SWATCH_SPAWN_STEP_TTY);
    }
    // swatchd keeps its listeners O_NONBLOCK; the service gets them blocking
    // unless NonBlocking=yes — as systemd sets the flag at activation
    // (systemd.service(5), NonBlocking=). The flag belongs to the open file,
    // so it changes for swatchd too, which only ever polls these fds.
    for (int i = 3; i < total; i++) {
        int flags = fcntl(i, F_GETFL);
        int wanted = req->nonblocking ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
        if (flags < 0 || (wanted != flags && fcntl(i, F_SETFL, wanted) < 0))
            child_fail(ctx, SWATCH_SPAWN_STEP_FDS);
    }

    // 4b. The sandbox, in the order the parent planned (see the top of this
    //     file): while the child is still privileged and before chdir, so the
    //     working directory is checked as the service's user, as systemd does.
    //     umask 0 meanwhile: the modes of the plan are meant exactly.
    int seccomp_from = req->sandbox_count;
    if (req->sandbox_count > 0) {
        // Close the parent's other fds now rather than at execve: a mount
        // plan takes milliseconds, and a socket the parent closes meanwhile
        // must not live on in this copy of its fd table. Best effort — step
        // 7 below still guarantees that nothing crosses execve.
        (void)swatch_close_range((unsigned)total, ~0U, 0);
        umask(0);
        for (int i = 0; i < req->sandbox_count; i++) {
            const struct swatch_sandbox_op *op = &req->sandbox[i];
            if (op->kind == SWATCH_SANDBOX_SECCOMP) {
                // The filters come last in the plan; they wait for 8b.
                seccomp_from = i;
                break;
            }
            int step = sandbox_step(op->kind);
            ctx->step = step;
            errno = 0;
            int applied = op->kind == SWATCH_SANDBOX_PRIVATE_USERS ? enter_private_users(op, &step) : sandbox_apply(op);
            if (applied == 0 || sandbox_ignores(op, errno))
                continue;
            if (req->sandbox_failed_index)
                *req->sandbox_failed_index = i;
            child_fail(ctx, step);
        }
    }

    // 5. Working directory and umask (WorkingDirectory=, UMask=).
    if (req->working_directory) {
        ctx->step = SWATCH_SPAWN_STEP_CHDIR;
        if (chdir(req->working_directory) < 0)
            child_fail(ctx, SWATCH_SPAWN_STEP_CHDIR);
    }
    umask(req->umask);

    // 6. LISTEN_PID / WATCHDOG_PID: the child's own pid, known only now
    //    (sd_listen_fds(3): "Is this for us?").
    pid_t self = (pid_t)syscall(SYS_getpid);
    if (req->listen_pid_slot)
        write_pid(req->listen_pid_slot, self);
    if (req->watchdog_pid_slot)
        write_pid(req->watchdog_pid_slot, self);

    // 7. Nothing else crosses execve: fds of swatchd that are not
    //    close-on-exec (inherited from its own parent) included.
    ctx->step = SWATCH_SPAWN_STEP_CLOSE_RANGE;
    int marked = -1;
    if (swatch_spawn_test_without_close_range)
        errno = ENOSYS;
    else
        marked = swatch_close_range((unsigned)total, ~0U, CLOSE_RANGE_CLOEXEC);
    //    close_range never answers EPERM itself: that is a seccomp profile
    //    older than the call (a container runtime's), as good as ENOSYS.
    if (marked < 0) {
        if ((errno != ENOSYS && errno != EINVAL && errno != EPERM) || mark_cloexec_from(total) < 0)
            child_fail(ctx, SWATCH_SPAWN_STEP_CLOSE_RANGE);
    }

    // 8. Unblock every signal last: a signal that arrives now kills the child
    //    with its default action instead of interrupting half a setup.
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);

    // 8b. The seccomp filters (SystemCallFilter=, RestrictAddressFamilies=,
    //     ...), as the very last thing before execve: nothing the child does
    //     itself may meet them (see sandbox_execution_order). A failure is
    //     still reported (_exit and the shared memory need no filtered call
    //     but exit_group, which every filter allows through @default).
    for (int i = seccomp_from; i < req->sandbox_count; i++) {
        const struct swatch_sandbox_op *op = &req->sandbox[i];
        ctx->step = SWATCH_SPAWN_STEP_SECCOMP;
        errno = 0;
        if (sandbox_apply(op) == 0)
            continue;
        if (req->sandbox_failed_index)
            *req->sandbox_failed_index = i;
        child_fail(ctx, SWATCH_SPAWN_STEP_SECCOMP);
    }

    ctx->step = SWATCH_SPAWN_STEP_EXECVE;
    execve(req->path, req->argv, req->envp);
    child_fail(ctx, SWATCH_SPAWN_STEP_EXECVE);
}

// MARK: - The parent

/// The child's stack. It runs only the code above (plus the libc calls it
/// makes), so 256 KiB is ample; it is unmapped once the child has exec'd.
#define SWATCH_CHILD_STACK_SIZE (256 * 1024)

// MARK: - Spawning into the cgroup: clone3(CLONE_INTO_CGROUP)
//
// Why: a child that joins its cgroup by writing "0" to cgroup.procs is
// *migrated*, and a migration takes cgroup_threadgroup_rwsem for writing. That
// percpu rwsem first waits for an RCU grace period when no writer took it
// recently, so the first activation after a quiet spell paid 6-9 ms here
// (scripts/bench, 2b) where back-to-back ones paid 0.03-0.1 ms. clone3(2) with
// CLONE_INTO_CGROUP (Linux 5.7) creates the child in the target cgroup: no
// migration, no grace period. The cgroup is named by an fd of its directory
// (the kernel's cgroup_css_set_fork runs the same permission checks as a write
// to cgroup.procs: cgroup_attach_permissions).
//
// Why assembly: glibc 2.36 has no public clone3 wrapper, and syscall(SYS_clone3)
// from C cannot work with CLONE_VM and a stack of our own. The child resumes
// right after the `syscall` instruction with the parent's registers but its
// stack pointer at the top of the new, empty stack: the `ret` of syscall()
// pops a return address that is not there, and any code of the calling C
// function addresses its locals through a stack or frame pointer that no
// longer describes them. Without a new stack (vfork style) it is no better:
// the child would return through syscall() and then call functions over the
// frames the suspended parent resumes into. So a few instructions, as glibc's
// own clone.S does for clone(2): issue the system call, and in the child call
// fn(arg) on the new stack and never return from the trampoline.
//
// Only x86_64 has it (the one architecture this is tested on). Elsewhere, and
// where clone3 is missing (kernel < 5.7: ENOSYS before 5.3, then E2BIG or
// EINVAL for the unknown flag and field; a container's seccomp profile that
// answers ENOSYS), the spawn falls back to clone(2) and the child writes to
// cgroup.procs itself, as before.

/// `struct clone_args` of <linux/sched.h> up to `cgroup` (CLONE_ARGS_SIZE_VER2,
/// Linux 5.7), mirrored so the build does not depend on the kernel headers'
/// version. Every field is a 64-bit value, pointers included.
struct swatch_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    /// The lowest address of the child's stack; the kernel starts it at stack + stack_size.
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    /// An fd of the target cgroup2 directory, with CLONE_INTO_CGROUP.
    uint64_t cgroup;
};
_Static_assert(sizeof(struct swatch_clone_args) == 88, "CLONE_ARGS_SIZE_VER2");

/// `CLONE_INTO_CGROUP` (<linux/sched.h>, Linux 5.7): a flag above bit 31, so clone3 only.
#define SWATCH_CLONE_INTO_CGROUP 0x200000000ULL

#if defined(__x86_64__) && defined(SYS_clone3)
#define SWATCH_HAVE_CLONE3 1

#define SWATCH_STRING(x) #x
#define SWATCH_EXPAND_STRING(x) SWATCH_STRING(x)

/// clone3(args, size), then, in the child only, fn(arg) on the stack that
/// `args` gives, and exit(2) with its result should it ever return. Returns the
/// raw system call result to the parent: the child's pid, or -errno (errno is
/// not touched). `args` must give a stack (CLONE_VM: the child has no other).
__attribute__((visibility("hidden")))
long swatch_clone3_trampoline(struct swatch_clone_args *args, size_t size, int (*fn)(void *), void *arg);

// System V x86_64 ABI: args in %rdi, size in %rsi, fn in %rdx, arg in %rcx.
// The syscall instruction takes its number in %rax and arguments in %rdi,
// %rsi, ... and clobbers only %rcx and %r11 (and %rax, the result); the child
// starts with the parent's registers except %rax = 0 and %rsp = stack +
// stack_size (kernel/fork.c, clone3_stack_valid). So fn stays in %rdx and arg
// is moved to %r8 first. The unwind info (CFI) of the first part describes
// the parent; the child's part is its own outermost frame (%rip undefined),
// so a debugger's backtrace stops there instead of walking into garbage.
__asm__(
    ".text\n"
    ".globl swatch_clone3_trampoline\n"
    ".hidden swatch_clone3_trampoline\n"
    ".type swatch_clone3_trampoline, @function\n"
    ".p2align 4\n"
    "swatch_clone3_trampoline:\n"
    "    .cfi_startproc\n"
#if defined(__CET__)
    "    endbr64\n"
#endif
    "    movq %rcx, %r8\n"        // arg, out of the register syscall clobbers
    "    movl $" SWATCH_EXPAND_STRING(SYS_clone3) ", %eax\n"
    "    syscall\n"
    "    testq %rax, %rax\n"
    "    jz 1f\n"
    "    ret\n"                   // the parent: pid or -errno
    "    .cfi_endproc\n"
    "1:\n"                        // the child, on its own stack, with nothing to return to
    "    .cfi_startproc\n"
    "    .cfi_undefined %rip\n"
    "    xorl %ebp, %ebp\n"       // the outermost frame, as the ABI suggests
    "    andq $-16, %rsp\n"       // already aligned (mmap'd top); the call needs it
    "    movq %r8, %rdi\n"
    "    callq *%rdx\n"           // fn(arg): child_main ends in execve or _exit
    "    movl %eax, %edi\n"
    "    movl $" SWATCH_EXPAND_STRING(SYS_exit) ", %eax\n"
    "    syscall\n"
    "    hlt\n"
    "    .cfi_endproc\n"
    ".size swatch_clone3_trampoline, .-swatch_clone3_trampoline\n");
#else
#define SWATCH_HAVE_CLONE3 0
#endif

/// Set once clone3 answered that it cannot do CLONE_INTO_CGROUP on this kernel
/// (ENOSYS, E2BIG, EINVAL): later spawns go straight to clone(2). Read and
/// written atomically because tests spawn from several threads (swatchd
/// itself spawns from one).
static int swatch_clone3_unusable = 0;

static int swatch_spawn_test_without_clone3 = 0;

void swatch_spawn_test_set_without_clone3(int enabled) {
    swatch_spawn_test_without_clone3 = enabled;
}

/// What `clone_into_cgroup` did.
enum clone3_outcome {
    /// The child ran (and exec'd or failed, CLONE_VFORK); its pid is stored.
    CLONE3_STARTED,
    /// Nothing happened: use clone(2), and the child joins the cgroup itself.
    CLONE3_USE_CLONE,
    /// No process could be created; its errno is stored.
    CLONE3_FAILED,
};

/// Starts the child with clone3(CLONE_VM|CLONE_VFORK|CLONE_INTO_CGROUP) in
/// the cgroup of `cgroup_fd`, on `stack`.
static enum clone3_outcome clone_into_cgroup(void *stack, int cgroup_fd, struct child_context *ctx,
                                             pid_t *pid_out, int *error_out) {
#if SWATCH_HAVE_CLONE3
    if (swatch_spawn_test_without_clone3 || __atomic_load_n(&swatch_clone3_unusable, __ATOMIC_RELAXED))
        return CLONE3_USE_CLONE;
    struct swatch_clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_VM | CLONE_VFORK | SWATCH_CLONE_INTO_CGROUP | (ctx->handoff_fd >= 0 ? CLONE_FILES : 0)
        | (ctx->req->new_pid_namespace ? CLONE_NEWPID : 0);
    args.exit_signal = SIGCHLD;
    args.stack = (uint64_t)(uintptr_t)stack;
    args.stack_size = SWATCH_CHILD_STACK_SIZE;
    args.cgroup = (uint64_t)cgroup_fd;
    ctx->born_in_cgroup = 1;
    long result = swatch_clone3_trampoline(&args, sizeof(args), child_main, ctx);
    if (result > 0) {
        *pid_out = (pid_t)result;
        return CLONE3_STARTED;
    }
    // No child: nothing ran, ctx is as the parent left it.
    ctx->born_in_cgroup = 0;
    int error = (int)-result;
    switch (error) {
    case ENOSYS:
    case E2BIG:
    case EINVAL:
        // This kernel (or a seccomp filter) does not have it, and never will.
        __atomic_store_n(&swatch_clone3_unusable, 1, __ATOMIC_RELAXED);
        return CLONE3_USE_CLONE;
    case EAGAIN:
    case ENOMEM:
        // No process could be made (RLIMIT_NPROC, pids.max of the target
        // cgroup — which a migration would bypass —, memory): report it as
        // clone(2)'s failure would be.
        *error_out = error;
        return CLONE3_FAILED;
    default:
        // A refusal about the cgroup (EACCES, EBUSY, ENODEV, EOPNOTSUPP, an
        // old seccomp profile's EPERM, ...): the write to cgroup.procs meets
        // the same checks and reports them as it always did, step "cgroup".
        return CLONE3_USE_CLONE;
    }
#else
    (void)stack;
    (void)cgroup_fd;
    (void)ctx;
    (void)pid_out;
    (void)error_out;
    return CLONE3_USE_CLONE;
#endif
}

/* The child stack of the last spawn, kept for the next one: CLONE_VFORK
 * returns only once the child has exec'd or exited, so the stack is free
 * again by then, and an mmap, its page faults and a munmap per spawn are
 * saved (an Accept=yes connection is one spawn). Taken and given back with
 * atomic exchanges: spawns from several threads (the tests) each get their own. */
static _Atomic(void *) spare_stack;

static void *take_stack(void) {
    void *stack = atomic_exchange(&spare_stack, NULL);
    if (stack) return stack;
    stack = mmap(NULL, SWATCH_CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    return stack == MAP_FAILED ? NULL : stack;
}

static void give_back_stack(void *stack) {
    void *expected = NULL;
    if (!atomic_compare_exchange_strong(&spare_stack, &expected, stack)) munmap(stack, SWATCH_CHILD_STACK_SIZE);
}

int swatch_spawn(const struct swatch_spawn_request *req, pid_t *pid_out, int *failed_step_out) {
    *pid_out = 0;
    *failed_step_out = SWATCH_SPAWN_STEP_NONE;
    if (req->fd_count < 0 || (req->fd_count > 0 && !req->fds)) {
        *failed_step_out = SWATCH_SPAWN_STEP_FDS;
        return EINVAL;
    }

    void *stack = take_stack();
    if (!stack) {
        *failed_step_out = SWATCH_SPAWN_STEP_STACK;
        return errno;
    }
    int *scratch = malloc(sizeof(int) * (size_t)(req->fd_count + 3));
    if (!scratch) {
        give_back_stack(stack);
        *failed_step_out = SWATCH_SPAWN_STEP_STACK;
        return ENOMEM;
    }

    struct child_context ctx = {
        .req = req, .scratch = scratch, .handoff_fd = -1, .handoff_received = 0, .born_in_cgroup = 0, .started = 0,
        .step = SWATCH_SPAWN_STEP_NONE, .error = 0,
    };

    // The handoff where it was prepared and the descriptors fit one datagram;
    // a send that fails (EAGAIN with a datagram still queued, ETOOMANYREFS)
    // leaves the child a copy of the table, as without it.
    int total = req->fd_count + 3;
    int handoff = handoff_pair[0] >= 0 && total <= SWATCH_HANDOFF_MAX;
    if (handoff) {
        pthread_mutex_lock(&handoff_lock);
        if (handoff_pair[0] >= 0 && handoff_send(req, total) == 0) {
            ctx.handoff_fd = handoff_pair[0];
            atomic_fetch_add(&handoff_spawns, 1);
        }
    }

    // Block every signal around the clone: a handler of the parent must never
    // run in the child, which shares the parent's memory. The child resets
    // dispositions before it unblocks.
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);

    pid_t pid = -1;
    int clone_errno = 0;
    enum clone3_outcome outcome = req->cgroup_fd >= 0
        ? clone_into_cgroup(stack, req->cgroup_fd, &ctx, &pid, &clone_errno)
        : CLONE3_USE_CLONE;
    if (outcome == CLONE3_STARTED && !ctx.started) {
        // Killed before its first instruction. The kernels between "cgroup:
        // fix race between fork and cgroup.kill" (6.14, and its stable
        // backports; 6.18 here) and "cgroup: fix spurious SIGKILL of
        // CLONE_INTO_CGROUP children" (7.3) compare the target cgroup's
        // cgroup.kill count with the *parent's* cgroup's, and SIGKILL the
        // child when they differ — so once a service's group was killed, every
        // child clone3 creates there dies at birth. ProcessTracker makes a
        // fresh group after its own cgroup.kill; this covers the rest (a group
        // still busy, someone else's cgroup.kill, swatchd's own group killed
        // once). Nothing of the child ran: reap it and start it the old way.
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        ctx.born_in_cgroup = 0;
        outcome = CLONE3_USE_CLONE;
    }
    if (outcome == CLONE3_USE_CLONE) {
        char *top = (char *)stack + SWATCH_CHILD_STACK_SIZE;
        // PrivatePIDs=: the child is PID 1 of a new PID namespace, made by the clone itself,
        // so no intermediate process is needed (systemd forks one, src/core/exec-invoke.c).
        pid = clone(child_main, top, CLONE_VM | CLONE_VFORK | (ctx.handoff_fd >= 0 ? CLONE_FILES : 0)
                        | (req->new_pid_namespace ? CLONE_NEWPID : 0) | SIGCHLD, &ctx);
        clone_errno = errno;
    }

    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    give_back_stack(stack);
    free(scratch);
    if (handoff) {
        if (ctx.handoff_fd >= 0 && !ctx.handoff_received)
            handoff_drain();
        pthread_mutex_unlock(&handoff_lock);
    }

    if (pid < 0) {
        *failed_step_out = SWATCH_SPAWN_STEP_CLONE;
        return clone_errno;
    }

    // CLONE_VFORK: we run again only after the child exec'd or exited, so
    // ctx holds its last word.
    int error = ctx.error;
    int step = ctx.step;
    if (error == 0 && step == SWATCH_SPAWN_STEP_EXECVE) {
        *pid_out = pid;
        return 0;
    }
    if (error == 0) {
        // Killed by a signal before execve: nothing ran.
        error = EINTR;
        step = SWATCH_SPAWN_STEP_DIED;
    }
    // The child is gone; reap it here so the caller never sees a pid for a
    // process that never ran.
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    *pid_out = pid;
    *failed_step_out = step;
    return error;
}
