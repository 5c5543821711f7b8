/* Whether taking the spawn off a connection's path would move Accept=yes (docs/HACKING.md
 * "Per activation"): an inetd whose K children wait in accept(2) on the listener; the one
 * that gets a connection puts it on 0 and 1 and execs the handler, and the parent forks a
 * replacement when one ends (Apache's prefork model). Compare it, with scripts/bench's
 * client and line handler, to tcpserver and to the bench's floor (accept, then
 * posix_spawn):
 *
 *   cc -O2 -o /tmp/prefork-inetd scripts/prefork-inetd.c
 *   /tmp/prefork-inetd 16 PORT /path/to/line inetd
 *
 * Not a part of swatchd: a measurement. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int children = atoi(argv[1]), on = 1, running = 0;
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) || listen(listener, 4096)) return 1;
    for (;;) {
        for (; running < children; running++) {
            if (fork() != 0) continue;
            int connection = accept4(listener, NULL, NULL, 0);
            if (connection < 0 || dup2(connection, 0) < 0 || dup2(connection, 1) < 0) _exit(1);
            if (connection > 1) close(connection);
            execv(argv[3], argv + 3);
            _exit(127);
        }
        if (wait(NULL) > 0) running--;
    }
}
