/* What a spawn costs a process that holds N open descriptors (docs/HACKING.md
 * "Per activation"): it opens N listening sockets on 127.0.0.1, all close-on-exec as
 * swatchd's are, then times posix_spawn(3) of PROGRAM and its waitpid(2), ROUNDS times.
 *
 *   cc -O2 -o /tmp/spawn-cost scripts/spawn-cost.c
 *   /tmp/spawn-cost 0 300 && /tmp/spawn-cost 2000 300      # PROGRAM: /bin/true
 *
 * The kernel's part grows with N: clone copies the descriptor table and takes a
 * reference on every open file (dup_fd, kernel/fork.c and fs/file.c), and the exec drops
 * every close-on-exec one of the copy (do_close_on_exec, fs/file.c). */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double microseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: spawn-cost N ROUNDS [PROGRAM]\n");
        return 2;
    }
    int count = atoi(argv[1]), rounds = atoi(argv[2]);
    char *program = argc > 3 ? argv[3] : "/bin/true";
    for (int i = 0; i < count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in address = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(fd, 16) < 0) {
            perror("spawn-cost: socket");
            return 1;
        }
    }
    double total = 0, best = 1e12;
    for (int round = 0; round < rounds; round++) {
        char *arguments[] = { program, NULL };
        pid_t pid;
        int status;
        double begin = microseconds();
        if (posix_spawn(&pid, program, NULL, NULL, arguments, environ) != 0 || waitpid(pid, &status, 0) < 0) {
            perror("spawn-cost: spawn");
            return 1;
        }
        double took = microseconds() - begin;
        total += took;
        if (took < best) best = took;
    }
    printf("%d open sockets: spawn and exit of %s: mean %.0f µs, best %.0f µs over %d rounds\n", count, program,
           total / rounds, best, rounds);
    return 0;
}
