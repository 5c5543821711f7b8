// Package.swift defines _GNU_SOURCE for this target; say so here too, for a
// reader and for any other build of this file.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CSwatch.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <pthread.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

const int SWATCH_SCM_CREDENTIALS = SCM_CREDENTIALS;
const int SWATCH_MSG_CMSG_CLOEXEC = MSG_CMSG_CLOEXEC;
const int SWATCH_F_SETPIPE_SZ = F_SETPIPE_SZ;
const int SWATCH_F_GETPIPE_SZ = F_GETPIPE_SZ;
const unsigned int SWATCH_CLOSE_RANGE_CLOEXEC = CLOSE_RANGE_CLOEXEC;
const long SWATCH_CGROUP2_SUPER_MAGIC = CGROUP2_SUPER_MAGIC;

_Static_assert(sizeof(struct swatch_ucred) == sizeof(struct ucred), "struct ucred mirror");
_Static_assert(offsetof(struct swatch_ucred, gid) == offsetof(struct ucred, gid), "struct ucred mirror");

int swatch_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}

int swatch_pipe2(int fds[2], int flags) {
    return pipe2(fds, flags);
}

int swatch_prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5) {
    return prctl(option, arg2, arg3, arg4, arg5);
}

int swatch_close_range(unsigned int first, unsigned int last, unsigned int flags) {
    return (int)syscall(__NR_close_range, first, last, flags);
}

int swatch_ignore_signal(int signal) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = SIG_IGN;
    return sigaction(signal, &action, NULL);
}

const char *swatch_spawn_step_name(int step) {
    switch (step) {
    case SWATCH_SPAWN_STEP_NONE: return "none";
    case SWATCH_SPAWN_STEP_STACK: return "mmap";
    case SWATCH_SPAWN_STEP_CLONE: return "clone";
    case SWATCH_SPAWN_STEP_SETSID: return "setsid";
    case SWATCH_SPAWN_STEP_CGROUP: return "cgroup";
    case SWATCH_SPAWN_STEP_FDS: return "fds";
    case SWATCH_SPAWN_STEP_CHDIR: return "chdir";
    case SWATCH_SPAWN_STEP_CLOSE_RANGE: return "close_range";
    case SWATCH_SPAWN_STEP_EXECVE: return "execve";
    case SWATCH_SPAWN_STEP_DIED: return "signal";
    default: return "unknown";
    }
}

static int swatch_spawn_test_without_close_range = 0;

void swatch_spawn_test_set_without_close_range(int enabled) {
    swatch_spawn_test_without_close_range = enabled;
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

static int child_main(void *argument) {
    struct child_context *ctx = argument;
    const struct swatch_spawn_request *req = ctx->req;
    int n = req->fd_count;

    // 1. Signal dispositions back to SIG_DFL first, so no handler of the
    //    parent (which shares this memory) can run in the child. SIG_IGN
    //    would survive execve (the ignored SIGPIPE of swatchd, NOTES). The
    //    raw system call, because glibc's sigaction refuses its internal
    //    signals 32 and 33 — seen ignored in a Swift test process, and
    //    posix_spawn leaves them so (NOTES).
    struct kernel_sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        (void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
    }

    // 2. A session of its own: the service's processes are one group that
    //    can be signalled together, detached from swatchd's terminal.
    ctx->step = SWATCH_SPAWN_STEP_SETSID;
    if (setsid() < 0)
        child_fail(ctx, SWATCH_SPAWN_STEP_SETSID);

    // 3. Join the service's cgroup before anything can fork.
    if (req->cgroup_procs_fd >= 0) {
        ctx->step = SWATCH_SPAWN_STEP_CGROUP;
        if (write(req->cgroup_procs_fd, "0", 1) != 1)
            child_fail(ctx, SWATCH_SPAWN_STEP_CGROUP);
    }

    // 4. The fd shuffle (NOTES, "fd shuffle trap"): copy every source —
    //    stdin, stdout, stderr, then the passed fds — to a number >= 3+n
    //    first, then dup2 each copy down to its target. A copy never sits at
    //    its target, so dup2 always makes a new descriptor and clears
    //    FD_CLOEXEC on it, and no target overwrites a source still needed
    //    (dup2(4→3) then dup2(3→4) would leave both the same socket). The
    //    copies stay close-on-exec and vanish at execve.
    ctx->step = SWATCH_SPAWN_STEP_FDS;
    int total = n + 3;
    for (int i = 0; i < total; i++) {
        int source = i == 0 ? req->stdin_fd : i == 1 ? req->stdout_fd : i == 2 ? req->stderr_fd : req->fds[i - 3];
        int copy = fcntl(source, F_DUPFD_CLOEXEC, total);
        if (copy < 0)
            child_fail(ctx, SWATCH_SPAWN_STEP_FDS);
        ctx->scratch[i] = copy;
    }
    for (int i = 0; i < total; i++) {
        if (dup2(ctx->scratch[i], i) < 0)
            child_fail(ctx, SWATCH_SPAWN_STEP_FDS);
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

    /* ---- Sandboxing (reserved for the sandboxing issue) ----
     * Here, while the child is still privileged and before chdir (so the
     * working directory is checked as the service's user, as systemd does):
     * rlimits, nice, oom_score_adj, mount namespace, setgroups/setresgid/
     * setresuid ("drop the group before the user"), capability sets,
     * PR_SET_NO_NEW_PRIVS. Each gets its own SWATCH_SPAWN_STEP_*. */

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
    if (marked < 0) {
        if ((errno != ENOSYS && errno != EINVAL) || mark_cloexec_from(total) < 0)
            child_fail(ctx, SWATCH_SPAWN_STEP_CLOSE_RANGE);
    }

    // 8. Unblock every signal last: a signal that arrives now kills the child
    //    with its default action instead of interrupting half a setup.
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);

    ctx->step = SWATCH_SPAWN_STEP_EXECVE;
    execve(req->path, req->argv, req->envp);
    child_fail(ctx, SWATCH_SPAWN_STEP_EXECVE);
}

// MARK: - The parent

/// The child's stack. It runs only the code above (plus the libc calls it
/// makes), so 256 KiB is ample; it is unmapped once the child has exec'd.
#define SWATCH_CHILD_STACK_SIZE (256 * 1024)

int swatch_spawn(const struct swatch_spawn_request *req, pid_t *pid_out, int *failed_step_out) {
    *pid_out = 0;
    *failed_step_out = SWATCH_SPAWN_STEP_NONE;
    if (req->fd_count < 0 || (req->fd_count > 0 && !req->fds)) {
        *failed_step_out = SWATCH_SPAWN_STEP_FDS;
        return EINVAL;
    }

    void *stack = mmap(NULL, SWATCH_CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        *failed_step_out = SWATCH_SPAWN_STEP_STACK;
        return errno;
    }
    int *scratch = malloc(sizeof(int) * (size_t)(req->fd_count + 3));
    if (!scratch) {
        munmap(stack, SWATCH_CHILD_STACK_SIZE);
        *failed_step_out = SWATCH_SPAWN_STEP_STACK;
        return ENOMEM;
    }

    struct child_context ctx = { .req = req, .scratch = scratch, .step = SWATCH_SPAWN_STEP_NONE, .error = 0 };

    // Block every signal around the clone: a handler of the parent must never
    // run in the child, which shares the parent's memory. The child resets
    // dispositions before it unblocks.
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);

    char *top = (char *)stack + SWATCH_CHILD_STACK_SIZE;
    pid_t pid = clone(child_main, top, CLONE_VM | CLONE_VFORK | SIGCHLD, &ctx);
    int clone_errno = errno;

    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    munmap(stack, SWATCH_CHILD_STACK_SIZE);
    free(scratch);

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
