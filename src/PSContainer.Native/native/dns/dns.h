/* psc-dns: the one resolver of a state root, serving every user-defined network (see main.c). */
#ifndef PSC_DNS_H
#define PSC_DNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_MAX_MESSAGE 4096   /* largest query taken (UDP datagram or TCP frame); larger ones are dropped */
#define DNS_TTL 5              /* answers change as containers come and go: keep caches short */
#define DNS_TYPE_A 1
#define DNS_TYPE_PTR 12
#define DNS_CLASS_IN 1
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4

/* ---- message.c: the little of RFC 1035 psc-dns needs ---------------------------------------------------------- */

struct dns_query {
    uint16_t id, flags, type, qclass;
    size_t question_end;   /* offset just past the question */
    char name[256];        /* lower case, labels joined by '.', no trailing dot */
};

/* 0 and *q filled for a one-question query (QR clear) without compression in the question; -1 otherwise. */
int dns_parse_query(const uint8_t *m, size_t len, struct dns_query *q);
/* Whether reply answers sent (whose question q parsed): same id, QR set, same opcode, one question, same question
 * with the name compared without ASCII case. */
int dns_is_reply_to(const uint8_t *sent, size_t sent_len, const struct dns_query *q, const uint8_t *reply, size_t len);
/* A response to q (question copied from query): A answers (network order), or one PTR answer, authoritative with
 * recursion available. Answers that would not fit in cap are left out. Returns its length. */
size_t dns_build_response(uint8_t *out, size_t cap, const uint8_t *query, const struct dns_query *q, int rcode,
                          const uint32_t *addresses, size_t count, const char *pointer);
/* The address (network order) of a reverse name d.c.b.a.in-addr.arpa; 0 if it is one, -1 if not. */
int dns_reverse_address(const char *name, uint32_t *address);
int dns_opcode(const struct dns_query *q);

/* ---- config.c: the config directory, one file per network ---------------------------------------------------- */

struct dns_record {
    char *name;            /* lower case */
    uint32_t address;      /* network order */
};

struct dns_network {
    char *file;            /* its file name in the config directory */
    uint32_t listen;       /* network order */
    int udp, tcp;          /* -1 when not bound */
    struct dns_record *records;
    size_t count;
};

/* Opens the directory (kept as a descriptor: nobody may not walk its path), starts watching it and loads every file. */
int config_open(const char *dir, uint16_t port, int epoll_fd);
/* The inotify descriptor (the event loop polls it). */
int config_inotify_fd(void);
/* Applies every pending change of the directory. Returns 1 when the directory is gone (psc-dns exits), 0 otherwise,
 * -1 on a read error of the watch. */
int config_drain(void);
/* Whether the directory went away (then psc-dns exits). */
int config_gone(void);
struct dns_network *config_by_udp(int fd);
struct dns_network *config_by_tcp(int fd);
struct dns_network *config_by_listen(uint32_t address);
/* Whether address (network order) is one psc-dns listens on: never forward to ourselves. */
int config_is_listen(uint32_t address);
/* The answer for q from network n's records: a reply length, 0 to forward, -1 to drop. */
long config_answer(const struct dns_network *n, const uint8_t *m, size_t len, const struct dns_query *q,
                   uint8_t *out, size_t cap, int have_upstream);

/* ---- forward.c: names psc-dns does not know, to the host's resolvers ------------------------------------------ */

#define FORWARD_MAX_IN_FLIGHT 256   /* dnsmasq's dns-forward-max is 150, docker's embedded resolver 100 */
#define FORWARD_TIMEOUT_MS 2000

/* Where a forwarded query's reply goes: a UDP client (via the listening socket) or a TCP connection. */
struct dns_origin {
    int udp_fd;                 /* the listening socket, or -1 for TCP */
    struct sockaddr_in client;
    int tcp_slot;               /* index of the TCP connection, with its generation */
    uint32_t tcp_generation;
};

int forward_load_resolvers(const char *resolv_conf);
int forward_have_upstream(void);
/* Starts forwarding (1), or drops the query when FORWARD_MAX_IN_FLIGHT are waiting (0); -1 on an error. */
int forward_start(const uint8_t *m, size_t len, const struct dns_query *q, const struct dns_origin *origin, int epoll_fd);
/* A forwarding socket is readable. */
void forward_readable(int slot, int epoll_fd);
/* Moves on every query whose resolver's time is up; returns the milliseconds until the next deadline, or -1. */
int forward_expire(int64_t now, int epoll_fd);

/* ---- tcp.c: DNS over TCP (RFC 1035 4.2.2: two-byte length prefix) -------------------------------------------- */

#define TCP_MAX_CONNECTIONS 64
#define TCP_IDLE_MS 10000

void tcp_accept(int listen_fd, int epoll_fd);
void tcp_readable(int slot, int epoll_fd);
/* Sends a reply to connection slot if it is still the one of that generation. */
void tcp_reply(int slot, uint32_t generation, const uint8_t *m, size_t len, int epoll_fd);
int tcp_expire(int64_t now, int epoll_fd);

/* ---- main.c ---------------------------------------------------------------------------------------------------- */

/* epoll data: kind in the high 32 bits, a descriptor or a slot index in the low ones. */
enum { EV_SIGNAL = 1, EV_INOTIFY, EV_UDP, EV_TCP_LISTEN, EV_TCP_CONN, EV_FORWARD };
#define EV_DATA(kind, v) (((uint64_t)(kind) << 32) | (uint32_t)(v))

int64_t now_ms(void);
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int epoll_watch(int epoll_fd, int fd, int kind, int value);
void epoll_forget(int epoll_fd, int fd);
/* Answers or forwards one query that arrived for network n; reply written to out (length returned), 0 when it was
 * forwarded or dropped. */
size_t serve_query(const struct dns_network *n, const uint8_t *m, size_t len, const struct dns_origin *origin,
                   uint8_t *out, size_t cap, int epoll_fd);

/* ---- confine.c ------------------------------------------------------------------------------------------------- */

/* Drops to nobody:nogroup keeping only CAP_NET_BIND_SERVICE, sets no_new_privs, forbids execve/execveat. 0 or -1
 * with a message in err. */
int confine(char *err, size_t err_len);

#endif
