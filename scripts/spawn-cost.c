/* What a spawn costs a process that holds N open descriptors (docs/HACKING.md
 * "Per activation"): it opens N listening sockets on 127.0.0.1, all close-on-exec as
 * swatchd's are, then times the spawn of PROGRAM and its waitpid(2), ROUNDS times.
 *
 *   cc -O2 -o /tmp/spawn-cost scripts/spawn-cost.c
 *   /tmp/spawn-cost 0 300 && /tmp/spawn-cost 2000 300      # posix_spawn of /bin/true
 *   /tmp/spawn-cost 2000 300 handoff                       # as swatchd spawns
 *
 * copy (the default): posix_spawn(3). The kernel's part grows with N: clone copies the
 * descriptor table and takes a reference on every open file (dup_fd, kernel/fork.c and
 * fs/file.c), and the exec drops every close-on-exec one of the copy (do_close_on_exec,
 * fs/file.c).
 * handoff: what Sources/CSwatch/shim.c does ("Handing the child its descriptors"): the
 * descriptor the child needs goes over a socket pair made first (so at 3 and 4) as
 * SCM_RIGHTS, the child shares the table (CLONE_FILES) and leaves it with
 * close_range(4, ~0U, CLOSE_RANGE_UNSHARE), which copies descriptors 0-3 only. */
#define _GNU_SOURCE
#include <linux/close_range.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double microseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

static int pair[2];
static char *program;

union control {
    char bytes[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
};

/* The child of the handoff: its own table of 0-3, the socket off the pair at 3 as
 * LISTEN_FDS would put it, then exec. */
static int child(void *unused) {
    (void)unused;
    if (syscall(SYS_close_range, pair[0] + 1, ~0U, CLOSE_RANGE_UNSHARE) < 0) _exit(120);
    union control control;
    char byte;
    struct iovec iov = { &byte, 1 };
    struct msghdr message = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes,
                              .msg_controllen = sizeof control.bytes };
    if (recvmsg(pair[0], &message, MSG_CMSG_CLOEXEC) != 1) _exit(121);
    int fd;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&message)), sizeof fd);
    if (dup2(fd, 3) != 3) _exit(122);
    char *arguments[] = { program, NULL };
    execve(program, arguments, environ);
    _exit(127);
}

static pid_t spawn_with_handoff(int fd, char *stack, size_t size) {
    union control control;
    memset(&control, 0, sizeof control);
    char byte = 0;
    struct iovec iov = { &byte, 1 };
    struct msghdr message = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes,
                              .msg_controllen = sizeof control.bytes };
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof fd);
    memcpy(CMSG_DATA(header), &fd, sizeof fd);
    if (sendmsg(pair[1], &message, 0) != 1) return -1;
    return clone(child, stack + size, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, NULL);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: spawn-cost N ROUNDS [copy|handoff] [PROGRAM]\n");
        return 2;
    }
    int count = atoi(argv[1]), rounds = atoi(argv[2]);
    int handoff = argc > 3 && strcmp(argv[3], "handoff") == 0;
    program = argc > 4 ? argv[4] : "/bin/true";
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0) {
        perror("spawn-cost: socketpair");
        return 1;
    }
    int last = -1;
    for (int i = 0; i < count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in address = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(fd, 16) < 0) {
            perror("spawn-cost: socket");
            return 1;
        }
        last = fd;
    }
    size_t size = 256 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        perror("spawn-cost: mmap");
        return 1;
    }
    double total = 0, best = 1e12;
    for (int round = 0; round < rounds; round++) {
        char *arguments[] = { program, NULL };
        pid_t pid;
        int status;
        double begin = microseconds();
        int failed = handoff ? (pid = spawn_with_handoff(last < 0 ? 0 : last, stack, size)) < 0
                             : posix_spawn(&pid, program, NULL, NULL, arguments, environ) != 0;
        if (failed || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            perror("spawn-cost: spawn");
            return 1;
        }
        double took = microseconds() - begin;
        total += took;
        if (took < best) best = took;
    }
    printf("%d open sockets, %s: spawn and exit of %s: mean %.0f µs, best %.0f µs over %d rounds\n", count,
           handoff ? "handoff" : "copy", program, total / rounds, best, rounds);
    return 0;
}
