// Counting the connections a listener has handed out, through the kernel's
// sock_diag netlink interface (sock_diag(7)): what `ss -t state established
// sport = :PORT` and `ss -x` read. In C because the netlink messages are
// packed structures with variable attributes, which Swift reads badly.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CSwatch.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/// Sends one dump request and calls `match` for each answer; returns the
/// number of matches, or -errno.
static int dump(const void *request, size_t length, int (*match)(const struct nlmsghdr *, const void *),
                const void *context) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -errno;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    struct {
        struct nlmsghdr header;
        char body[64];
    } message;
    memset(&message, 0, sizeof message);
    message.header.nlmsg_len = (uint32_t)(NLMSG_LENGTH(length));
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    memcpy(message.body, request, length);
    if (sendto(fd, &message, message.header.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    int count = 0;
    char buffer[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
    for (;;) {
        ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0) break;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buffer; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                close(fd);
                return count;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *error = NLMSG_DATA(h);
                close(fd);
                return error->error < 0 ? error->error : -EIO;
            }
            count += match(h, context);
        }
    }
    close(fd);
    return count;
}

static int match_port(const struct nlmsghdr *h, const void *context) {
    const struct inet_diag_msg *socket = NLMSG_DATA(h);
    return socket->id.idiag_sport == htons(*(const uint16_t *)context) ? 1 : 0;
}

int swatch_tcp_connections_on_port(uint16_t port) {
    // Connections an application still holds: established, half-open or half-closed.
    const uint32_t states = (1u << TCP_ESTABLISHED) | (1u << TCP_SYN_RECV) | (1u << TCP_CLOSE_WAIT);
    int total = 0;
    const uint8_t families[] = { AF_INET, AF_INET6 };
    for (size_t i = 0; i < sizeof families; i++) {
        struct inet_diag_req_v2 request = {
            .sdiag_family = families[i],
            .sdiag_protocol = IPPROTO_TCP,
            .idiag_states = states,
        };
        int n = dump(&request, sizeof request, match_port, &port);
        if (n < 0) return n;
        total += n;
    }
    return total;
}

struct unix_name {
    const char *path;
    size_t length;
};

static int match_name(const struct nlmsghdr *h, const void *context) {
    const struct unix_name *wanted = context;
    const struct unix_diag_msg *socket = NLMSG_DATA(h);
    int remaining = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *socket));
    for (const struct rtattr *a = (const struct rtattr *)(socket + 1); RTA_OK(a, remaining);
         a = RTA_NEXT(a, remaining)) {
        if (a->rta_type != UNIX_DIAG_NAME) continue;
        size_t length = RTA_PAYLOAD(a);
        return length == wanted->length && memcmp(RTA_DATA(a), wanted->path, length) == 0 ? 1 : 0;
    }
    return 0;
}

int swatch_unix_connections_on_path(const char *path, size_t length) {
    // The accepted end of a connection carries the listener's name (unix(7)).
    struct unix_diag_req request = {
        .sdiag_family = AF_UNIX,
        .udiag_states = 1u << TCP_ESTABLISHED,
        .udiag_show = UDIAG_SHOW_NAME,
    };
    struct unix_name wanted = { path, length };
    return dump(&request, sizeof request, match_name, &wanted);
}
