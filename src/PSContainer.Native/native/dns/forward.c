/* Forwarding: a name psc-dns does not know goes to the host's resolvers (from a resolv.conf), one after the other,
 * each with FORWARD_TIMEOUT_MS, then SERVFAIL. Each try has a fresh connected socket (the kernel drops datagrams
 * from any other address or port) and a fresh random id (not the client's, which another container on the network
 * could predict); a reply is relayed only if it answers that query (dns_is_reply_to). Anything else is ignored and
 * the wait goes on, so a forged datagram neither poisons nor cuts short a lookup. At most FORWARD_MAX_IN_FLIGHT wait
 * at once; the excess is dropped, not refused: a stub resolver takes SERVFAIL as an answer, while an unanswered
 * query is sent again after its timeout, when a slot is likely free. */
#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RESOLVERS 8

struct pending {
    int fd;                 /* -1: free slot */
    uint8_t *sent;          /* the query as sent (our id) */
    size_t len;
    struct dns_query q;     /* the client's query (its id) */
    struct dns_origin origin;
    int resolver;           /* index of the resolver asked */
    int64_t deadline;
};

static struct sockaddr_in resolvers[MAX_RESOLVERS];
static int resolver_count;
static struct pending slots[FORWARD_MAX_IN_FLIGHT];
static int slots_ready;

int forward_have_upstream(void) { return resolver_count > 0; }

int forward_load_resolvers(const char *resolv_conf)
{
    for (int i = 0; i < FORWARD_MAX_IN_FLIGHT; i++)
        slots[i].fd = -1;
    slots_ready = 1;
    FILE *f = fopen(resolv_conf, "re");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    char line[512];
    while (fgets(line, sizeof line, f) && resolver_count < MAX_RESOLVERS) {
        char *save = NULL, *key = strtok_r(line, " \t\r\n", &save), *value = strtok_r(NULL, " \t\r\n", &save);
        struct in_addr a;
        if (!key || !value || strcmp(key, "nameserver") != 0 || inet_pton(AF_INET, value, &a) != 1)
            continue;
        resolvers[resolver_count++] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(53), .sin_addr = a};
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed)
        return -1;
    return 0;
}

static void release(struct pending *p, int epoll_fd)
{
    if (p->fd >= 0) {
        epoll_forget(epoll_fd, p->fd);
        if (close(p->fd) != 0)
            log_error("close: %m");
    }
    free(p->sent);
    p->sent = NULL;
    p->fd = -1;
}

static void deliver(struct pending *p, const uint8_t *m, size_t len, int epoll_fd)
{
    if (p->origin.udp_fd >= 0) {
        if (sendto(p->origin.udp_fd, m, len, MSG_DONTWAIT, (const struct sockaddr *)&p->origin.client,
                   sizeof p->origin.client) < 0)
            log_error("sendto: %m");
    } else {
        tcp_reply(p->origin.tcp_slot, p->origin.tcp_generation, m, len, epoll_fd);
    }
}

/* Asks the next resolver from p->resolver on; when none is left, answers SERVFAIL and frees the slot. */
static void try_next(struct pending *p, int epoll_fd)
{
    if (p->fd >= 0) {
        epoll_forget(epoll_fd, p->fd);
        if (close(p->fd) != 0)
            log_error("close: %m");
        p->fd = -1;
    }
    for (; p->resolver < resolver_count; p->resolver++) {
        const struct sockaddr_in *r = &resolvers[p->resolver];
        if (config_is_listen(r->sin_addr.s_addr))   /* never to ourselves */
            continue;
        uint16_t id;
        if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id) {
            log_error("getrandom: %m");
            break;
        }
        p->sent[0] = (uint8_t)(id >> 8);
        p->sent[1] = (uint8_t)id;
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            log_error("socket: %m");
            break;
        }
        if (connect(fd, (const struct sockaddr *)r, sizeof *r) != 0 || send(fd, p->sent, p->len, 0) != (ssize_t)p->len) {
            if (close(fd) != 0)
                log_error("close: %m");
            continue;
        }
        if (epoll_watch(epoll_fd, fd, EV_FORWARD, (int)(p - slots)) != 0) {
            log_error("epoll_ctl: %m");
            if (close(fd) != 0)
                log_error("close: %m");
            break;
        }
        p->fd = fd;
        p->deadline = now_ms() + FORWARD_TIMEOUT_MS;
        return;
    }
    uint8_t reply[DNS_MAX_MESSAGE];
    size_t n = dns_build_response(reply, sizeof reply, p->sent, &p->q, DNS_RCODE_SERVFAIL, NULL, 0, NULL);
    deliver(p, reply, n, epoll_fd);
    release(p, epoll_fd);
}

int forward_start(const uint8_t *m, size_t len, const struct dns_query *q, const struct dns_origin *origin, int epoll_fd)
{
    struct pending *p = NULL;
    for (int i = 0; i < FORWARD_MAX_IN_FLIGHT && slots_ready; i++)
        if (slots[i].fd < 0 && !slots[i].sent) {
            p = &slots[i];
            break;
        }
    if (!p)
        return 0;
    p->sent = malloc(len);
    if (!p->sent)
        return -1;
    memcpy(p->sent, m, len);
    p->len = len;
    p->q = *q;
    p->origin = *origin;
    p->resolver = 0;
    try_next(p, epoll_fd);
    return 1;
}

void forward_readable(int slot, int epoll_fd)
{
    if (slot < 0 || slot >= FORWARD_MAX_IN_FLIGHT || slots[slot].fd < 0)
        return;
    struct pending *p = &slots[slot];
    static uint8_t buf[65536];
    for (;;) {
        ssize_t n = recv(p->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            p->resolver++;   /* unreachable (ICMP): the next one */
            try_next(p, epoll_fd);
            return;
        }
        if (!dns_is_reply_to(p->sent, p->len, &p->q, buf, (size_t)n))
            continue;
        buf[0] = (uint8_t)(p->q.id >> 8);   /* the client's id back */
        buf[1] = (uint8_t)p->q.id;
        deliver(p, buf, (size_t)n, epoll_fd);
        release(p, epoll_fd);
        return;
    }
}

int forward_expire(int64_t now, int epoll_fd)
{
    int64_t next = -1;
    for (int i = 0; i < FORWARD_MAX_IN_FLIGHT; i++) {
        struct pending *p = &slots[i];
        if (p->fd < 0)
            continue;
        if (p->deadline <= now) {
            p->resolver++;
            try_next(p, epoll_fd);
            if (p->fd < 0)
                continue;
        }
        if (next < 0 || p->deadline - now < next)
            next = p->deadline - now;
    }
    return (int)next;
}
