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
#include <sys/un.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>

// MARK: - Control socket and output capture (Sources/SwatchCore/Control, Sources/SwatchCore/Logging)
// accept4, SO_PEERCRED's struct ucred and pipe2 are behind _GNU_SOURCE (NOTES), so Swift
// cannot see them; these wrappers live in control.c, which defines it.

/// Accepts one connection on the listening socket `listen_fd`, the new socket close-on-exec
/// and non-blocking from birth (`accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)`).
/// Returns the new descriptor, or -1 with `errno` set (EAGAIN when no connection is waiting).
int swatch_control_accept(int listen_fd);

/// Reads the credentials of the peer of the connected unix socket `fd` as the kernel recorded
/// them at connect() time (`getsockopt(SO_PEERCRED)`, unix(7)). Returns 0, or an errno.
int swatch_control_peer_credentials(int fd, pid_t *_Nonnull pid, uid_t *_Nonnull uid, gid_t *_Nonnull gid);

/// Creates a pipe with both ends close-on-exec and the read end non-blocking
/// (`pipe2(O_CLOEXEC)`, then `O_NONBLOCK` on `fds[0]`): the capture pipe of a service's
/// output, whose write end only the spawn shim hands on. Returns 0, or an errno.
int swatch_output_pipe(int fds[_Nonnull 2]);

// MARK: - end of control and output capture

#endif
