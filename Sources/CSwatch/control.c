// The _GNU_SOURCE calls of the control socket and of service output capture
// (accept4, SO_PEERCRED, pipe2): Swift's Glibc module does not see them (NOTES).
#ifndef _GNU_SOURCE  /* Package.swift defines it too */
#define _GNU_SOURCE
#endif
#include "CSwatch.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int swatch_control_accept(int listen_fd) {
    return accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

int swatch_control_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return errno;
    if (len != sizeof(cred))
        return EINVAL;
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

int swatch_output_pipe(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) < 0)
        return errno;
    int flags = fcntl(fds[0], F_GETFL);
    if (flags < 0 || fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) < 0) {
        int error = errno;
        close(fds[0]);
        close(fds[1]);
        return error;
    }
    return 0;
}
