/* DNS over TCP (RFC 1035 4.2.2, RFC 7766): each message behind a two-byte length. Bounded: at most
 * TCP_MAX_CONNECTIONS at once (a connection beyond that is closed at once), queries of at most DNS_MAX_MESSAGE
 * bytes, and a connection idle for TCP_IDLE_MS is closed. Replies are small; one the socket cannot take at once
 * closes the connection rather than buffering for a client that does not read. */
#include "dns.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct connection {
    int fd;                    /* -1: free */
    uint32_t listen;           /* the address it arrived on: which network answers */
    uint32_t generation;       /* so a late forwarded reply never reaches a later connection in the same slot */
    int64_t deadline;
    size_t used;
    uint8_t *buf;              /* 2 + DNS_MAX_MESSAGE */
};

static struct connection conns[TCP_MAX_CONNECTIONS];
static int initialised;

static void init(void)
{
    if (initialised)
        return;
    for (int i = 0; i < TCP_MAX_CONNECTIONS; i++)
        conns[i].fd = -1;
    initialised = 1;
}

static void drop(struct connection *c, int epoll_fd)
{
    epoll_forget(epoll_fd, c->fd);
    if (close(c->fd) != 0)
        log_error("close: %m");
    free(c->buf);
    c->buf = NULL;
    c->fd = -1;
    c->generation++;
}

void tcp_accept(int listen_fd, int epoll_fd)
{
    init();
    struct dns_network *n = config_by_tcp(listen_fd);
    for (;;) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(listen_fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_error("accept: %m");
            return;
        }
        struct connection *c = NULL;
        for (int i = 0; i < TCP_MAX_CONNECTIONS && n; i++)
            if (conns[i].fd < 0) {
                c = &conns[i];
                break;
            }
        if (!c || !(c->buf = malloc(2 + DNS_MAX_MESSAGE)) || epoll_watch(epoll_fd, fd, EV_TCP_CONN, (int)(c - conns)) != 0) {
            if (c) {
                free(c->buf);
                c->buf = NULL;
            }
            if (close(fd) != 0)
                log_error("close: %m");
            continue;
        }
        c->fd = fd;
        c->listen = n->listen;
        c->used = 0;
        c->deadline = now_ms() + TCP_IDLE_MS;
    }
}

void tcp_reply(int slot, uint32_t generation, const uint8_t *m, size_t len, int epoll_fd)
{
    if (slot < 0 || slot >= TCP_MAX_CONNECTIONS || conns[slot].fd < 0 || conns[slot].generation != generation)
        return;
    struct connection *c = &conns[slot];
    uint8_t frame[2 + 65536];
    if (len > 65535) {
        drop(c, epoll_fd);
        return;
    }
    frame[0] = (uint8_t)(len >> 8);
    frame[1] = (uint8_t)len;
    memcpy(frame + 2, m, len);
    ssize_t sent = send(c->fd, frame, len + 2, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent != (ssize_t)(len + 2))
        drop(c, epoll_fd);
}

void tcp_readable(int slot, int epoll_fd)
{
    if (slot < 0 || slot >= TCP_MAX_CONNECTIONS || conns[slot].fd < 0)
        return;
    struct connection *c = &conns[slot];
    ssize_t n = recv(c->fd, c->buf + c->used, 2 + DNS_MAX_MESSAGE - c->used, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop(c, epoll_fd);
        return;
    }
    c->used += (size_t)n;
    c->deadline = now_ms() + TCP_IDLE_MS;
    while (c->fd >= 0 && c->used >= 2) {
        size_t len = ((size_t)c->buf[0] << 8) | c->buf[1];
        if (len == 0 || len > DNS_MAX_MESSAGE) {
            drop(c, epoll_fd);
            return;
        }
        if (c->used < 2 + len)
            return;
        /* Pending changes of the config directory first, as for UDP: the network may be gone or its names new. */
        if (config_drain() != 0)
            return;
        const struct dns_network *net = config_by_listen(c->listen);
        if (!net) {
            drop(c, epoll_fd);
            return;
        }
        struct dns_origin origin = {.udp_fd = -1, .tcp_slot = slot, .tcp_generation = c->generation};
        uint8_t reply[DNS_MAX_MESSAGE];
        uint8_t query[DNS_MAX_MESSAGE];
        memcpy(query, c->buf + 2, len);
        c->used -= 2 + len;
        memmove(c->buf, c->buf + 2 + len, c->used);
        size_t r = serve_query(net, query, len, &origin, reply, sizeof reply, epoll_fd);
        if (r > 0)
            tcp_reply(slot, origin.tcp_generation, reply, r, epoll_fd);
    }
}

int tcp_expire(int64_t now, int epoll_fd)
{
    int64_t next = -1;
    for (int i = 0; i < TCP_MAX_CONNECTIONS && initialised; i++) {
        struct connection *c = &conns[i];
        if (c->fd < 0)
            continue;
        if (c->deadline <= now) {
            drop(c, epoll_fd);
            continue;
        }
        if (next < 0 || c->deadline - now < next)
            next = c->deadline - now;
    }
    return (int)next;
}
