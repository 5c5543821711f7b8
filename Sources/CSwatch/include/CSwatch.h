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

#endif
