// The C shim of swatchd: what Swift's Glibc module does not import (NOTES:
// epoll, signalfd, timerfd, prctl, the _GNU_SOURCE items, CMSG macros,
// variadic calls) and the fork→exec window of the spawner. Every function is
// prefixed `swatch_`, documented, and returns 0 or an errno unless it says otherwise.
#ifndef SWATCH_CSWATCH_H
#define SWATCH_CSWATCH_H

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#pragma clang assume_nonnull begin

// MARK: - Constants hidden behind _GNU_SOURCE
//
// Swift imports headers without _GNU_SOURCE, and the target's own define does
// not carry over (NOTES), so these are exported as values from shim.c.

/// `SCM_CREDENTIALS`: the control message type of a `struct ucred`.
extern const int SWATCH_SCM_CREDENTIALS;
/// `MSG_CMSG_CLOEXEC`: received fds are close-on-exec from birth.
extern const int SWATCH_MSG_CMSG_CLOEXEC;
/// `F_SETPIPE_SZ` / `F_GETPIPE_SZ`: the capacity of a pipe or FIFO (PipeSize=).
extern const int SWATCH_F_SETPIPE_SZ;
extern const int SWATCH_F_GETPIPE_SZ;
/// `CLOSE_RANGE_CLOEXEC`: mark a range close-on-exec instead of closing it.
extern const unsigned int SWATCH_CLOSE_RANGE_CLOEXEC;
/// `CGROUP2_SUPER_MAGIC` from <linux/magic.h>: `statfs` f_type of a cgroup2 mount.
extern const long SWATCH_CGROUP2_SUPER_MAGIC;

/// A mirror of `struct ucred` (the sender of an SCM_CREDENTIALS message, or
/// SO_PEERCRED), which glibc declares only under _GNU_SOURCE. Same layout.
struct swatch_ucred {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};

// MARK: - Control messages (macros in glibc)

/// `CMSG_FIRSTHDR`: the first control message of `msg`, or NULL.
static inline struct cmsghdr *_Nullable swatch_cmsg_firsthdr(const struct msghdr *msg) {
    return CMSG_FIRSTHDR(msg);
}

/// `CMSG_NXTHDR`: the control message after `cmsg`, or NULL.
static inline struct cmsghdr *_Nullable swatch_cmsg_nxthdr(struct msghdr *msg, struct cmsghdr *cmsg) {
    return CMSG_NXTHDR(msg, cmsg);
}

/// `CMSG_DATA`: the payload of `cmsg`.
static inline unsigned char *swatch_cmsg_data(struct cmsghdr *cmsg) {
    return CMSG_DATA(cmsg);
}

/// `CMSG_SPACE`: the buffer space one message of `length` payload bytes takes.
static inline size_t swatch_cmsg_space(size_t length) {
    return CMSG_SPACE(length);
}

/// `CMSG_LEN`: the `cmsg_len` of one message of `length` payload bytes.
static inline size_t swatch_cmsg_len(size_t length) {
    return CMSG_LEN(length);
}

// MARK: - System calls that glibc hides or declares variadic
//
// These behave like the system call they wrap: they return -1 and set errno
// on failure, so the Swift side treats them as any other syscall.

/// `accept4(2)`: accepts a connection with `flags` (SOCK_CLOEXEC, SOCK_NONBLOCK).
int swatch_accept4(int fd, struct sockaddr *_Nullable address, socklen_t *_Nullable length, int flags);

/// `pipe2(2)`: a pipe whose ends get `flags` (O_CLOEXEC, O_NONBLOCK) atomically.
int swatch_pipe2(int fds[_Nonnull 2], int flags);

/// `prctl(2)` with all four optional arguments spelled out (prctl is variadic).
int swatch_prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5);

/// `close_range(2)` through syscall(2), which glibc 2.34+ declares only under _GNU_SOURCE.
int swatch_close_range(unsigned int first, unsigned int last, unsigned int flags);

/// Sets `signal`'s disposition to SIG_IGN (a macro Swift cannot import).
/// Returns 0 or -1 with errno, like sigaction(2).
int swatch_ignore_signal(int signal);

// MARK: - Spawning

/// Which step of a spawn failed, so a log line can say "chdir" instead of a bare errno.
enum swatch_spawn_step {
    SWATCH_SPAWN_STEP_NONE = 0,
    /// The parent could not map the child's stack.
    SWATCH_SPAWN_STEP_STACK,
    /// clone(2) itself failed (EAGAIN: too many processes; ENOMEM).
    SWATCH_SPAWN_STEP_CLONE,
    SWATCH_SPAWN_STEP_SETSID,
    /// Writing "0" to the service's cgroup.procs.
    SWATCH_SPAWN_STEP_CGROUP,
    /// Moving the passed fds and stdin/stdout/stderr into place.
    SWATCH_SPAWN_STEP_FDS,
    SWATCH_SPAWN_STEP_CHDIR,
    SWATCH_SPAWN_STEP_CLOSE_RANGE,
    SWATCH_SPAWN_STEP_EXECVE,
    /// The child died (a signal) before it reached execve.
    SWATCH_SPAWN_STEP_DIED,
    /* Reserved for the sandboxing issue: RLIMITS, NICE, OOM_SCORE_ADJ,
     * NAMESPACE, GROUPS, GID, UID, CAPABILITIES, NO_NEW_PRIVS go here. */
};

/// A name for a step, as log lines print it ("execve", "chdir", ...). Never NULL.
const char *swatch_spawn_step_name(int step);

/// Everything the child needs, prepared by the parent before the clone: the
/// child only copies, moves and calls async-signal-safe functions.
struct swatch_spawn_request {
    /// The absolute path given to execve.
    const char *path;
    /// NULL-terminated argv, argv[0] included.
    char *_Nullable const *_Nonnull argv;
    /// NULL-terminated "KEY=VALUE" strings: the child's whole environment.
    char *_Nullable const *_Nonnull envp;
    /// The fds the child gets at 3, 4, ... in this order (sd_listen_fds(3)).
    const int *_Nullable fds;
    int fd_count;
    /// NonBlocking=: 1 leaves the passed fds O_NONBLOCK, 0 clears the flag (systemd's default).
    int nonblocking;
    /// The child's 0, 1, 2. Must be open fds (the Swift side opens /dev/null for "none").
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    /// chdir target, or NULL to stay in the parent's working directory.
    const char *_Nullable working_directory;
    mode_t umask;
    /// An fd of the service's `cgroup.procs` (O_WRONLY), or -1: the child writes
    /// "0" to it before anything else, so nothing it forks can escape the cgroup.
    int cgroup_procs_fd;
    /// Where the child writes its own pid in decimal, NUL-terminated: points
    /// just after "LISTEN_PID=" in one of the envp strings, with room for 21
    /// bytes; NULL when the variable is not wanted.
    char *_Nullable listen_pid_slot;
    /// The same for "WATCHDOG_PID=".
    char *_Nullable watchdog_pid_slot;

    /* ---- Reserved for the sandboxing issue (systemd.exec(5)) ----
     * uid/gid/supplementary groups, capability bounding/ambient sets,
     * no_new_privs, mount namespace setup, rlimits, nice, oom_score_adj.
     * Fields go here; the child applies them at the marked place in shim.c. */
};

/// Tests only: when non-zero, the child acts as on a kernel without
/// close_range(CLOSE_RANGE_CLOEXEC) (before 5.11, e.g. Debian 11's 5.10) and
/// marks fds close-on-exec by listing /proc/self/fd. Set it in a forked,
/// single-threaded test process only.
void swatch_spawn_test_set_without_close_range(int enabled);

/// Starts `req->path` as a new process with clone(CLONE_VM|CLONE_VFORK) and
/// returns once the child has called execve (or failed before it).
///
/// On success returns 0 and stores the child's pid in `pid_out`. On failure
/// returns the errno of the failed step and stores that step (enum
/// swatch_spawn_step) in `failed_step_out`; a child that failed has already
/// been reaped. Signals are blocked in the calling thread for the duration.
int swatch_spawn(const struct swatch_spawn_request *req, pid_t *pid_out, int *failed_step_out);



#pragma clang assume_nonnull end

#endif
