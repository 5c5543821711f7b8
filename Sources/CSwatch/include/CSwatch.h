// The C shim of swatchd: what Swift's Glibc module does not import (docs/HACKING.md, "What Glibc imports":
// epoll, signalfd, timerfd, prctl, the _GNU_SOURCE items, CMSG macros,
// variadic calls), the fork→exec window of the spawner, and argv as glibc hands it to the
// program (arguments.c; swatchctl links it for that alone). Every function is
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
#include <sys/xattr.h>
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
// not carry over (docs/HACKING.md, "What Glibc imports"), so these are exported as values from shim.c.

/// `SCM_CREDENTIALS`: the control message type of a `struct ucred`.
extern const int SWATCH_SCM_CREDENTIALS;
/// `MSG_CMSG_CLOEXEC`: received fds are close-on-exec from birth.
extern const int SWATCH_MSG_CMSG_CLOEXEC;
/// `F_SETPIPE_SZ` / `F_GETPIPE_SZ`: the capacity of a pipe or FIFO (PipeSize=).
extern const int SWATCH_F_SETPIPE_SZ;
extern const int SWATCH_F_GETPIPE_SZ;
/// `O_NOATIME` (open(2); <fcntl.h> defines it only with _GNU_SOURCE): a read that does
/// not update the file's access time.
extern const int SWATCH_O_NOATIME;
/// `CLOSE_RANGE_CLOEXEC`: mark a range close-on-exec instead of closing it.
extern const unsigned int SWATCH_CLOSE_RANGE_CLOEXEC;
/// `SO_TIMESTAMP` / `SO_TIMESTAMPNS` (a ternary on the time_t size in the headers, Timestamping=).
extern const int SWATCH_SO_TIMESTAMP;
extern const int SWATCH_SO_TIMESTAMPNS;
/// `SOL_NETLINK`, `NETLINK_PKTINFO` (linux/netlink.h, PassPacketInfo= on a netlink socket).
extern const int SWATCH_SOL_NETLINK;
extern const int SWATCH_NETLINK_PKTINFO;
/// `SO_PASSPIDFD` (Linux 6.5, PassPIDFD=) and `SO_PASSRIGHTS` (Linux 6.16,
/// AcceptFileDescriptors=), which Debian 12's headers do not have yet.
extern const int SWATCH_SO_PASSPIDFD;
extern const int SWATCH_SO_PASSRIGHTS;
/// `CGROUP2_SUPER_MAGIC` from <linux/magic.h>: `statfs` f_type of a cgroup2 mount.
extern const long SWATCH_CGROUP2_SUPER_MAGIC;
/// `CLONE_NEWNS`: unshare(2) a new mount namespace (sandboxing).
extern const int SWATCH_CLONE_NEWNS;
/// The other namespace flags of clone(2)/unshare(2) (sandboxing: ProtectHostname=,
/// PrivateIPC=, PrivateNetwork=, RestrictNamespaces=).
extern const int SWATCH_CLONE_NEWUTS;
extern const int SWATCH_CLONE_NEWIPC;
extern const int SWATCH_CLONE_NEWNET;
extern const int SWATCH_CLONE_NEWUSER;
extern const int SWATCH_CLONE_NEWPID;
extern const int SWATCH_CLONE_NEWCGROUP;

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

/// `setns(2)`: moves the calling thread into the namespace `fd` refers to, which must be of
/// type `nstype` (CLONE_NEWNET, ...).
int swatch_setns(int fd, int nstype);

/// `mq_open(3)` with O_CREAT (variadic, and <mqueue.h> is not imported): opens or creates the
/// queue `name` with `flags` and `mode`; `max_messages` and `message_size` go into its
/// `mq_attr` when both are > 0, else the kernel's defaults apply. Returns the queue's fd.
int swatch_mq_open(const char *_Nonnull name, int flags, mode_t mode, long max_messages, long message_size);

/// `mq_unlink(3)`.
int swatch_mq_unlink(const char *_Nonnull name);
/// FlushPending=: receives and drops up to `limit` messages of the (non-blocking) queue `fd`.
void swatch_mq_flush(int fd, int limit);

/// `getrandom(2)` of exactly `length` bytes into `buffer`: 0, or an errno.
int swatch_random_bytes(void *_Nonnull buffer, size_t length);

/// `prctl(2)` with all four optional arguments spelled out (prctl is variadic).
int swatch_prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5);

/// `close_range(2)` through syscall(2), which glibc 2.34+ declares only under _GNU_SOURCE.
int swatch_close_range(unsigned int first, unsigned int last, unsigned int flags);

/// `pidfd_open(2)` (Linux 5.3) through syscall(2): glibc declares it only from 2.36.
int swatch_pidfd_open(pid_t pid, unsigned int flags);

/// `pidfd_send_signal(2)` (Linux 5.1) with no siginfo and no flags, through syscall(2).
int swatch_pidfd_send_signal(int pidfd, int signal);

/// `memfd_create(2)` (declared only under _GNU_SOURCE): an anonymous file,
/// where libseccomp's seccomp_export_bpf writes a filter to be read back.
int swatch_memfd_create(const char *name, unsigned int flags);

/// The symbolic name of an errno value ("EPERM"), or NULL when glibc knows
/// none (strerrorname_np(3), glibc 2.32, _GNU_SOURCE only).
const char *_Nullable swatch_errno_name(int error);

/// Sets `signal`'s disposition to SIG_IGN (a macro Swift cannot import).
/// Returns 0 or -1 with errno, like sigaction(2).
int swatch_ignore_signal(int signal);

/// Every signal this process finds at SIG_IGN back to SIG_DFL: what it was
/// handed across execve, which keeps SIG_IGN and no handler. Handlers installed
/// since (the Swift runtime's crash reporter, in a build that has one) stay.
/// Returns 0.
int swatch_reset_ignored_signals(void);

/// The System V IPC object kinds of `swatch_ipc_remove`.
enum swatch_ipc_kind {
    SWATCH_IPC_SHARED_MEMORY = 0,
    SWATCH_IPC_SEMAPHORE_SET = 1,
    SWATCH_IPC_MESSAGE_QUEUE = 2,
};

/// Removes a System V IPC object by id: shmctl/semctl/msgctl(id, IPC_RMID)
/// (semctl is variadic). For RemoveIPC=. Returns 0 or -1 with errno.
int swatch_ipc_remove(int kind, int id);

// MARK: - Spawning

/// Which step of a spawn failed, so a log line can say "chdir" instead of a bare errno.
enum swatch_spawn_step {
    SWATCH_SPAWN_STEP_NONE = 0,
    /// The parent could not map the child's stack.
    SWATCH_SPAWN_STEP_STACK,
    /// clone(2) or clone3(2) itself failed (EAGAIN: too many processes; ENOMEM).
    SWATCH_SPAWN_STEP_CLONE,
    SWATCH_SPAWN_STEP_SETSID,
    /// Joining the service's cgroup: opening or writing its cgroup.procs
    /// (when the child could not be created in it directly).
    SWATCH_SPAWN_STEP_CGROUP,
    /// Moving the passed fds and stdin/stdout/stderr into place.
    SWATCH_SPAWN_STEP_FDS,
    /// StandardInput=tty*: making fd 0 the controlling terminal (TIOCSCTTY).
    SWATCH_SPAWN_STEP_TTY,
    SWATCH_SPAWN_STEP_CHDIR,
    SWATCH_SPAWN_STEP_CLOSE_RANGE,
    SWATCH_SPAWN_STEP_EXECVE,
    /// The child died (a signal) before it reached execve.
    SWATCH_SPAWN_STEP_DIED,
    // Sandboxing (systemd.exec(5)), one step per group of directives; the
    // directive itself is named by the failed operation (`sandbox_failed_index`).
    // They run in the order of `swatch_sandbox_execution_order`.
    /// setrlimit(2): Limit*=.
    SWATCH_SPAWN_STEP_RLIMIT,
    /// setpriority(2): Nice=.
    SWATCH_SPAWN_STEP_NICE,
    /// /proc/self/oom_score_adj: OOMScoreAdjust=.
    SWATCH_SPAWN_STEP_OOM_SCORE_ADJUST,
    /// unshare(CLONE_NEWNS): any file-system sandboxing.
    SWATCH_SPAWN_STEP_UNSHARE,
    /// mount(2) and the mkdir/symlink/file creation of a mount plan.
    SWATCH_SPAWN_STEP_MOUNT,
    /// PR_CAPBSET_DROP: CapabilityBoundingSet=, PrivateDevices=.
    SWATCH_SPAWN_STEP_BOUNDING_SET,
    /// PR_SET_KEEPCAPS (AmbientCapabilities= with User=).
    SWATCH_SPAWN_STEP_KEEP_CAPS,
    /// setgroups(2): SupplementaryGroups=, the user's groups.
    SWATCH_SPAWN_STEP_GROUPS,
    /// setresgid(2): Group=.
    SWATCH_SPAWN_STEP_GID,
    /// setresuid(2): User=, DynamicUser=.
    SWATCH_SPAWN_STEP_UID,
    /// capset(2): AmbientCapabilities=.
    SWATCH_SPAWN_STEP_CAPABILITIES,
    /// PR_CAP_AMBIENT_RAISE: AmbientCapabilities=.
    SWATCH_SPAWN_STEP_AMBIENT,
    /// PR_SET_NO_NEW_PRIVS: NoNewPrivileges=.
    SWATCH_SPAWN_STEP_NO_NEW_PRIVS,
    /// seccomp(SECCOMP_SET_MODE_FILTER): SystemCallFilter=, RestrictAddressFamilies=, ...
    SWATCH_SPAWN_STEP_SECCOMP,
    /// Bringing up `lo` in a new network namespace (PrivateNetwork=).
    SWATCH_SPAWN_STEP_LOOPBACK,
    /// unshare(CLONE_NEWUSER) and the child's own uid_map/gid_map: a swatchd
    /// that is not root sets up its namespaces inside a user namespace.
    SWATCH_SPAWN_STEP_USER_NAMESPACE,
    /// sched_setscheduler(2): CPUSchedulingPolicy=, CPUSchedulingPriority=,
    /// CPUSchedulingResetOnFork=.
    SWATCH_SPAWN_STEP_SCHEDULER,
    /// ioprio_set(2): IOSchedulingClass=, IOSchedulingPriority=.
    SWATCH_SPAWN_STEP_IO_PRIORITY,
    /// PrivateUsers= as root: unshare(CLONE_NEWUSER), after the mounts and the groups.
    SWATCH_SPAWN_STEP_PRIVATE_USERS,
    /// PrivateUsers= as root: the helper that writes the new namespace's
    /// setgroups, gid_map and uid_map from the host's namespace failed (its errno).
    SWATCH_SPAWN_STEP_PRIVATE_USERS_MAP,
    /// sched_setaffinity(2): CPUAffinity=.
    SWATCH_SPAWN_STEP_CPU_AFFINITY,
    /// set_mempolicy(2): NUMAPolicy=, NUMAMask=.
    SWATCH_SPAWN_STEP_MEMORY_POLICY,
    /// prctl(PR_SET_TIMERSLACK): TimerSlackNSec=.
    SWATCH_SPAWN_STEP_TIMER_SLACK,
    /// personality(2): Personality=.
    SWATCH_SPAWN_STEP_PERSONALITY,
    /// keyctl(KEYCTL_JOIN_SESSION_KEYRING) and its companions: KeyringMode=.
    SWATCH_SPAWN_STEP_KEYRING,
    /// PR_SET_SECUREBITS: SecureBits=.
    SWATCH_SPAWN_STEP_SECUREBITS,
};

// MARK: - Sandboxing operations

/// What one sandboxing operation does in the child. Each is (about) one
/// system call; the parent decides everything (which, in which order, with
/// which strings) before the clone — see the comment at the top of shim.c.
enum swatch_sandbox_kind {
    /// setrlimit(number, {value, value2}): soft, hard.
    SWATCH_SANDBOX_SETRLIMIT = 1,
    /// setpriority(PRIO_PROCESS, 0, number).
    SWATCH_SANDBOX_SETPRIORITY,
    /// Writes `data` to the existing file `path` (/proc/self/oom_score_adj).
    SWATCH_SANDBOX_WRITE_FILE,
    /// unshare(number): CLONE_NEWNS.
    SWATCH_SANDBOX_UNSHARE,
    /// mount(source, path, fstype, flags, data), exactly as given.
    SWATCH_SANDBOX_MOUNT,
    /// mount(NULL, path, NULL, MS_REMOUNT|MS_BIND|flags|kept, NULL), where
    /// `kept` are the ro/nosuid/nodev/noexec flags the mount has now (statfs(2))
    /// but those in `number`: a bind remount replaces them, and must not loosen
    /// any that was not asked for (ExecPaths= asks to drop noexec).
    SWATCH_SANDBOX_REMOUNT,
    /// mkdir(path, number); an existing directory is fine.
    SWATCH_SANDBOX_MKDIR,
    /// Creates the empty file `path` with mode `number` (a bind-mount target).
    SWATCH_SANDBOX_CREATE_FILE,
    /// symlink(source, path).
    SWATCH_SANDBOX_SYMLINK,
    /// prctl(PR_CAPBSET_DROP, number).
    SWATCH_SANDBOX_CAPBSET_DROP,
    /// prctl(PR_SET_KEEPCAPS, number).
    SWATCH_SANDBOX_KEEPCAPS,
    /// setgroups(group_count, groups), as the raw system call.
    SWATCH_SANDBOX_SETGROUPS,
    /// setresgid(number, number, number), as the raw system call.
    SWATCH_SANDBOX_SETRESGID,
    /// setresuid(number, number, number), as the raw system call.
    SWATCH_SANDBOX_SETRESUID,
    /// capset(2): effective and permitted `value`, inheritable `value2` (bit n: capability n).
    SWATCH_SANDBOX_CAPSET,
    /// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, number).
    SWATCH_SANDBOX_AMBIENT_RAISE,
    /// prctl(PR_SET_NO_NEW_PRIVS, 1).
    SWATCH_SANDBOX_NO_NEW_PRIVS,
    /// seccomp(SECCOMP_SET_MODE_FILTER, 0, {program_length, program}): a classic
    /// BPF program built by libseccomp before the clone. Loaded right before
    /// execve, after every other step of the child (see shim.c).
    SWATCH_SANDBOX_SECCOMP,
    /// Sets IFF_UP on the interface `path` ("lo") with SIOCSIFFLAGS (netdevice(7)).
    SWATCH_SANDBOX_INTERFACE_UP,
    /// unshare(CLONE_NEWUSER), then "deny" to /proc/self/setgroups and the
    /// one-line maps "number number 1" to /proc/self/uid_map and "value value 1"
    /// to /proc/self/gid_map: the child's own ids map to themselves
    /// (user_namespaces(7), "User and group ID mappings").
    SWATCH_SANDBOX_USER_NAMESPACE,
    /// sched_setscheduler(0, number, {.sched_priority = value}): `number` is the
    /// policy, SCHED_RESET_ON_FORK or'ed in.
    SWATCH_SANDBOX_SCHED_SETSCHEDULER,
    /// ioprio_set(IOPRIO_WHO_PROCESS, 0, number), as the raw system call (glibc has no wrapper).
    SWATCH_SANDBOX_IOPRIO_SET,
    /// PrivateUsers= as root: unshare(CLONE_NEWUSER), and a helper process left in
    /// the host's namespace (cloned first, without CLONE_VM) writes "deny" to the
    /// child's /proc/PID/setgroups, then the maps "0 0 1" plus "value value 1"
    /// (gid_map) and "0 0 1" plus "number number 1" (uid_map), the second line
    /// only for an id that is not 0. The child reaps the helper before it goes on.
    SWATCH_SANDBOX_PRIVATE_USERS,
    /// sched_setaffinity(0, program_length, program): `program` is the CPU mask,
    /// `program_length` bytes of it (a cpu_set_t's layout, CPU n is bit n).
    SWATCH_SANDBOX_SCHED_SETAFFINITY,
    /// prctl(PR_SET_TIMERSLACK, value): nanoseconds.
    SWATCH_SANDBOX_TIMER_SLACK,
    /// personality(number).
    SWATCH_SANDBOX_PERSONALITY,
    /// set_mempolicy(number, program, program_length * 8 + 1): `program` the node mask
    /// (bit n: node n); the kernel reads one bit less than it is told.
    SWATCH_SANDBOX_SET_MEMPOLICY,
    /// KeyringMode=private/shared: a new session keyring, made while the real uid and gid
    /// are briefly `value` and `value2` (UINT64_MAX: unchanged) so that it is theirs; with
    /// `number` 1 the user keyring of that uid linked into it (`shared`); then `program`, the
    /// 16 bytes of the invocation ID (`program_length` 16, or 0 for none), added to it as
    /// the "user" key "invocation_id". A kernel or a seccomp filter that refuses keyrings
    /// (ENOSYS, EPERM, EACCES) or a full quota (EDQUOT) is not a failure.
    SWATCH_SANDBOX_SESSION_KEYRING,
    /// setns(open(path), number): joins the namespace of type `number` (CLONE_NEWNET,
    /// CLONE_NEWIPC) that the file `path` refers to (/run/netns/NAME, /proc/PID/ns/net).
    SWATCH_SANDBOX_SETNS,
    /// prctl(PR_SET_SECUREBITS, number), CAP_SETPCAP raised into the effective set first
    /// when it is only permitted (after setresuid with keep-caps); nothing when the bits
    /// are already `number`.
    SWATCH_SANDBOX_SECUREBITS,
};

/// The order in which the child runs the sandboxing operations, as steps
/// (enum swatch_spawn_step, SWATCH_SPAWN_STEP_RLIMIT to _NO_NEW_PRIVS): the
/// one statement of it, with its reasons, is `sandbox_execution_order` in
/// shim.c. Returns that array and stores its length in `count`. The child
/// itself runs the operations in the order it is given them, which the parent
/// (SandboxPlan) sorts by this.
const int *swatch_sandbox_execution_order(int *count);

/// The step (enum swatch_spawn_step) of an operation of `kind` (enum
/// swatch_sandbox_kind): what the child reports when it fails, and what
/// `swatch_sandbox_execution_order` orders by. Tests compare it with the Swift side.
int swatch_sandbox_operation_step(int kind);

/// Which failures of an operation are not failures (a bit set in `ignore`).
enum swatch_sandbox_ignore {
    /// ENOENT, ENOTDIR: the path is not there (a `-` prefix, an optional /boot).
    SWATCH_SANDBOX_IGNORE_MISSING = 1,
    /// EINVAL of a remount: the path is no longer a mount point here (a host
    /// mount hidden under one of the sandbox's own), so there is nothing to change.
    SWATCH_SANDBOX_IGNORE_NOT_MOUNTED = 2,
    /// ENODEV: the kernel lacks the file system (mqueue).
    SWATCH_SANDBOX_IGNORE_UNSUPPORTED = 4,
};

/// One sandboxing operation, applied by the child in array order. Unused
/// fields are 0/NULL; which are used is said per kind above.
struct swatch_sandbox_op {
    int kind;
    /// enum swatch_sandbox_ignore bits.
    int ignore;
    const char *_Nullable path;
    const char *_Nullable source;
    const char *_Nullable fstype;
    const char *_Nullable data;
    unsigned long flags;
    long number;
    uint64_t value;
    uint64_t value2;
    const gid_t *_Nullable groups;
    int group_count;
    /// SWATCH_SANDBOX_SECCOMP: the `struct sock_filter` instructions and their count.
    const void *_Nullable program;
    int program_length;
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
    /// 1: clone the child into a new PID namespace (CLONE_NEWPID, PrivatePIDs=).
    int new_pid_namespace;
    /// IgnoreSIGPIPE=: 1 starts the program with SIGPIPE ignored (systemd's
    /// default, systemd.exec(5)), 0 with the default action.
    int ignore_sigpipe;
    /// StandardInput=tty*: 1 makes fd 0 the controlling terminal of the child's
    /// session (TIOCSCTTY), 2 also takes it from another session; 0 leaves it.
    int controlling_terminal;
    /// The child's 0, 1, 2. Must be open fds (the Swift side opens /dev/null for "none").
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    /// chdir target, or NULL to stay in the parent's working directory.
    const char *_Nullable working_directory;
    mode_t umask;
    /// An fd of the service's cgroup2 directory (O_RDONLY|O_DIRECTORY), or -1.
    /// The child is created in that cgroup with clone3(CLONE_INTO_CGROUP) where
    /// the kernel has it (5.7+, x86_64 build); elsewhere it writes "0" to the
    /// group's cgroup.procs before anything else. Either way nothing it forks
    /// can escape the cgroup.
    int cgroup_fd;
    /// Where the child writes its own pid in decimal, NUL-terminated: points
    /// just after "LISTEN_PID=" in one of the envp strings, with room for 21
    /// bytes; NULL when the variable is not wanted.
    char *_Nullable listen_pid_slot;
    /// The same for "WATCHDOG_PID=".
    char *_Nullable watchdog_pid_slot;

    /// The sandbox (systemd.exec(5)): operations the child applies in order,
    /// after the fd shuffle and before chdir; NULL/0 for none.
    const struct swatch_sandbox_op *_Nullable sandbox;
    int sandbox_count;
    /// When a sandbox operation fails, the child stores its index here (the
    /// caller names the directive behind it); untouched otherwise. May be NULL.
    int *_Nullable sandbox_failed_index;
};

/// Tests only: when non-zero, the child acts as on a kernel without
/// close_range(CLOSE_RANGE_CLOEXEC) (before 5.11, e.g. Debian 11's 5.10) and
/// marks fds close-on-exec by listing /proc/self/fd, and
/// swatch_spawn_prepare_handoff answers ENOSYS. Set it in a forked,
/// single-threaded test process only.
void swatch_spawn_test_set_without_close_range(int enabled);

/// Tests only: when non-zero, the spawner acts as on a kernel without
/// clone3(CLONE_INTO_CGROUP) (before 5.7, or a container whose seccomp profile
/// answers ENOSYS): clone(2), and the child writes "0" to cgroup.procs. Set it
/// in a forked, single-threaded test process only.
void swatch_spawn_test_set_without_clone3(int enabled);

/// Makes the socket pair through which later spawns hand the child its
/// descriptors instead of copying the whole descriptor table into it (shim.c,
/// "Handing the child its descriptors"). Call it first thing, while the table
/// is nearly empty and 0, 1, 2 are open: the pair takes the lowest free numbers,
/// and each child still copies the descriptors numbered below it. Returns 0 or an errno (ENOSYS or EPERM where close_range(2) cannot
/// unshare: before Linux 5.9, or refused by seccomp); without it, or after a
/// failure, spawns copy the table. Calling it again changes nothing.
int swatch_spawn_prepare_handoff(void);

/// The receiving end of that pair, or -1 when it was not made.
int swatch_spawn_handoff_descriptor(void);

/// Records which signals this process does not leave at SIG_DFL (ignored, or
/// caught), so that each child resets only those before execve instead of
/// every signal. Call it once the process has set its own dispositions, and
/// change none after: a disposition changed later would reach the children.
/// Until it is called, children reset every signal. Returns 0.
int swatch_spawn_prepare_signals(void);

/// Tests only: how many spawns handed the child its descriptors that way (the
/// others copied the table: no pair, more than 253 descriptors, or a failed send).
unsigned long swatch_spawn_handoff_count(void);

/// Starts `req->path` as a new process with clone(CLONE_VM|CLONE_VFORK) —
/// clone3 with CLONE_INTO_CGROUP too when `req->cgroup_fd` is set and the
/// kernel has it — and returns once the child has called execve (or failed
/// before it).
///
/// On success returns 0 and stores the child's pid in `pid_out`. On failure
/// returns the errno of the failed step and stores that step (enum
/// swatch_spawn_step) in `failed_step_out`; a child that failed has already
/// been reaped. Signals are blocked in the calling thread for the duration.
int swatch_spawn(const struct swatch_spawn_request *req, pid_t *pid_out, int *failed_step_out);

// MARK: The command line (arguments.c)

/// The program's argv and (in `count`) argc, as glibc handed them to its constructors:
/// a `NULL`-terminated vector that lives as long as the process. Read without /proc.
char *_Nullable *_Nonnull swatch_arguments(int *count);

// MARK: sock_diag (sockdiag.c)

/// The TCP connections (IPv4 and IPv6; established, half-open or half-closed)
/// whose local port is `port`, as `ss -t sport = :PORT` counts them; -errno
/// when the kernel cannot be asked (sock_diag(7)).
int swatch_tcp_connections_on_port(uint16_t port);

/// The connected unix stream sockets named `path` (`length` bytes; an
/// abstract name starts with a NUL): the accepted connections of a listener
/// bound there; -errno when the kernel cannot be asked.
int swatch_unix_connections_on_path(const char *path, size_t length);


// MARK: cgroup BPF programs (bpf.c)

/// The access and type values of `struct bpf_cgroup_dev_ctx` (<linux/bpf.h>):
/// access_type is (access << 16) | type.
extern const int SWATCH_BPF_DEVCG_ACC_MKNOD;
extern const int SWATCH_BPF_DEVCG_ACC_READ;
extern const int SWATCH_BPF_DEVCG_ACC_WRITE;
extern const int SWATCH_BPF_DEVCG_DEV_BLOCK;
extern const int SWATCH_BPF_DEVCG_DEV_CHAR;
/// Program types, attach types, the ld_imm64 source of a map fd, helper numbers, and the
/// offsets of `protocol` and `ifindex` in `struct __sk_buff` (<linux/bpf.h>).
extern const int SWATCH_BPF_PROG_TYPE_CGROUP_DEVICE;
extern const int SWATCH_BPF_PROG_TYPE_CGROUP_SKB;
extern const int SWATCH_BPF_CGROUP_DEVICE;
extern const int SWATCH_BPF_CGROUP_INET_INGRESS;
extern const int SWATCH_BPF_CGROUP_INET_EGRESS;
extern const int SWATCH_BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
extern const int SWATCH_BPF_CGROUP_INET4_BIND;
extern const int SWATCH_BPF_CGROUP_INET6_BIND;
extern const int SWATCH_BPF_PSEUDO_MAP_FD;
extern const int SWATCH_BPF_FUNC_MAP_LOOKUP_ELEM;
extern const int SWATCH_BPF_FUNC_SKB_LOAD_BYTES;
extern const int SWATCH_SKB_PROTOCOL_OFFSET;
extern const int SWATCH_SKB_IFINDEX_OFFSET;

/// bpf(BPF_PROG_LOAD) of a program of `type` and `count` 8-byte `struct bpf_insn`: its fd,
/// or -errno. `expected_attach_type`: the hook a cgroup/bind4 or bind6 program is for (0
/// for the others). With `log`, the verifier's log (log_level 1) goes there.
int swatch_bpf_load_program(int type, int expected_attach_type, const void *instructions, int count,
                            char *_Nullable log, unsigned log_size);

/// Makes `programs` (`count` fds) the programs attached to the cgroup2 directory `cgroup_fd`
/// as `attach_type`, as systemd's bpf_devices_apply_policy() (src/core/bpf-devices.c) and
/// bpf-firewall.c do: each attached with BPF_F_ALLOW_MULTI, beside the others (all must
/// pass), and only then those attached before detached — so a process already in the group
/// is never without its programs in between. One attached already (the same pinned program)
/// stays; `count` 0 detaches them all. A program attached without the flag (by an older
/// swatchd) allows no other: one replaces it in place, attached the same way. 0 or an errno.
int swatch_bpf_replace(int cgroup_fd, int attach_type, const int *_Nullable programs, int count);

/// bpf(BPF_OBJ_GET): an fd of the object pinned at `path` on a bpf file system, or -errno.
int swatch_bpf_obj_get(const char *_Nonnull path);

/// bpf(BPF_MAP_CREATE) of an LPM trie (keys of `key_size` bytes: a 32-bit prefix length
/// and the address; 8-byte values): its fd, or -errno.
int swatch_bpf_create_lpm_trie(int key_size, int max_entries);

/// bpf(BPF_MAP_UPDATE_ELEM, BPF_ANY): 0 or an errno.
int swatch_bpf_map_update(int map_fd, const void *key, const void *value);

/// CPUID `leaf` into eax, ebx, ecx, edx: 0, ENOENT when the processor has no such leaf, ENOSYS
/// off x86 (ConditionCPUFeature=).
int swatch_cpuid(unsigned leaf, unsigned registers[_Nonnull 4]);

#pragma clang assume_nonnull end

#endif
