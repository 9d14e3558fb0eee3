/* The config directory: one file per network, written atomically (rename) by the engine:
 *     listen 10.89.0.1
 *     10.89.0.2   web web-alias 0123456789ab
 * i.e. the network's gateway and its records in hosts format. psc-dns watches the directory with inotify: a new
 * file binds that address (UDP and TCP port 53), a changed one reloads its records, a removed one closes its
 * sockets, and the directory's removal ends psc-dns. */
#include "dns.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE (1 << 20)   /* a records file larger than this is refused: the engine writes one line per container */

static int dir_fd = -1, inotify_fd = -1, watch = -1, parent_watch = -1, epoll = -1;
static char base[NAME_MAX + 1];   /* the directory's name in its parent */
static uint16_t listen_port = 53;
static int gone;
static struct dns_network *networks;
static size_t network_count;

int config_inotify_fd(void) { return inotify_fd; }
int config_gone(void)
{
    /* Removed: the inode we hold has no link left. Its own IN_DELETE_SELF comes only once the last reference goes,
     * and we hold one, hence the parent's watch and this check. */
    struct stat st;
    if (!gone && fstat(dir_fd, &st) == 0 && st.st_nlink == 0)
        gone = 1;
    return gone;
}

static void free_records(struct dns_record *r, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(r[i].name);
    free(r);
}

static void close_sockets(struct dns_network *n)
{
    if (n->udp >= 0) {
        epoll_forget(epoll, n->udp);
        if (close(n->udp) != 0)
            log_error("close: %m");
    }
    if (n->tcp >= 0) {
        epoll_forget(epoll, n->tcp);
        if (close(n->tcp) != 0)
            log_error("close: %m");
    }
    n->udp = n->tcp = -1;
}

static void drop_network(size_t i)
{
    close_sockets(&networks[i]);
    free_records(networks[i].records, networks[i].count);
    free(networks[i].file);
    networks[i] = networks[--network_count];
}

static struct dns_network *by_file(const char *file)
{
    for (size_t i = 0; i < network_count; i++)
        if (strcmp(networks[i].file, file) == 0)
            return &networks[i];
    return NULL;
}

/* A socket on address:port, freebind (the bridge's address may come a moment later), nonblocking; -1 on error. */
static int bind_socket(uint32_t address, int type)
{
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(listen_port), .sin_addr.s_addr = address};
    if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one) != 0
        || (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0
        || (type == SOCK_STREAM && listen(fd, 64) != 0)) {
        int e = errno;
        if (close(fd) != 0)
            log_error("close: %m");
        errno = e;
        return -1;
    }
    return fd;
}

/* Binds the network's address: TCP first, so that the UDP socket the engine looks for in /proc/net/udp means both. */
static void bind_network(struct dns_network *n)
{
    char text[INET_ADDRSTRLEN];
    if (!inet_ntop(AF_INET, &n->listen, text, sizeof text))
        text[0] = 0;
    n->tcp = bind_socket(n->listen, SOCK_STREAM);
    if (n->tcp < 0 || epoll_watch(epoll, n->tcp, EV_TCP_LISTEN, n->tcp) != 0) {
        log_error("cannot listen on %s:%u/tcp: %m", text, listen_port);
        close_sockets(n);
        return;
    }
    n->udp = bind_socket(n->listen, SOCK_DGRAM);
    if (n->udp < 0 || epoll_watch(epoll, n->udp, EV_UDP, n->udp) != 0) {
        log_error("cannot listen on %s:%u/udp: %m", text, listen_port);
        close_sockets(n);
    }
}

static int parse_ipv4(const char *s, uint32_t *address)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return -1;
    *address = a.s_addr;
    return 0;
}

/* Parses a network file's text (NUL-terminated, modified in place). 0, or -1 when it names no listen address. */
static int parse_file(char *text, uint32_t *listen, struct dns_record **records, size_t *count)
{
    int have_listen = 0;
    size_t cap = 0;
    *records = NULL;
    *count = 0;
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *save = NULL, *first = strtok_r(line, " \t\r", &save);
        if (!first)
            continue;
        if (strcmp(first, "listen") == 0) {
            char *a = strtok_r(NULL, " \t\r", &save);
            if (a && parse_ipv4(a, listen) == 0)
                have_listen = 1;
            continue;
        }
        uint32_t address;
        if (parse_ipv4(first, &address) != 0)
            continue;
        for (char *name; (name = strtok_r(NULL, " \t\r", &save));) {
            if (strlen(name) > 253)
                continue;
            if (*count == cap) {
                size_t grown = cap ? cap * 2 : 8;
                struct dns_record *r = realloc(*records, grown * sizeof *r);
                if (!r)
                    goto fail;
                *records = r;
                cap = grown;
            }
            char *copy = strdup(name);
            if (!copy)
                goto fail;
            for (char *c = copy; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c | 0x20);
            (*records)[(*count)++] = (struct dns_record){copy, address};
        }
    }
    if (have_listen)
        return 0;
fail:
    free_records(*records, *count);
    *records = NULL;
    *count = 0;
    return -1;
}

/* Loads (or reloads) one file. A file that is gone drops its network; one psc-dns cannot read keeps what it has. */
static void load(const char *file)
{
    if (file[0] == '.' || strlen(file) > NAME_MAX)
        return;
    struct dns_network *n = by_file(file);
    int fd = openat(dir_fd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT && n)
            drop_network((size_t)(n - networks));
        else if (errno != ENOENT)
            log_error("cannot open %s: %m", file);
        return;
    }
    char *text = malloc(MAX_FILE + 1);
    size_t len = 0;
    ssize_t r = 0;
    if (text)
        while (len < MAX_FILE && (r = read(fd, text + len, MAX_FILE - len)) > 0)
            len += (size_t)r;
    if (close(fd) != 0)
        log_error("close: %m");
    if (!text || r < 0 || len == MAX_FILE) {
        log_error("cannot read %s (%s)", file, !text ? "out of memory" : r < 0 ? "read error" : "too large");
        free(text);
        return;
    }
    text[len] = 0;
    uint32_t listen = 0;
    struct dns_record *records;
    size_t count;
    int ok = parse_file(text, &listen, &records, &count);
    free(text);
    if (ok != 0) {
        log_error("%s names no listen address", file);
        return;
    }
    if (!n) {
        struct dns_network *grown = realloc(networks, (network_count + 1) * sizeof *grown);
        char *name = strdup(file);
        if (!grown || !name) {
            if (grown)
                networks = grown;
            free(name);
            free_records(records, count);
            log_error("out of memory");
            return;
        }
        networks = grown;
        n = &networks[network_count++];
        *n = (struct dns_network){.file = name, .listen = listen, .udp = -1, .tcp = -1};
    }
    free_records(n->records, n->count);
    n->records = records;
    n->count = count;
    if (n->listen != listen || n->udp < 0) {
        close_sockets(n);
        n->listen = listen;
        bind_network(n);
    }
}

/* Reads the whole directory again: at start, and when the inotify queue overflowed. */
static int rescan(void)
{
    int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        gone = errno == ENOENT;
        return gone ? 1 : -1;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        if (close(fd) != 0)
            log_error("close: %m");
        return -1;
    }
    /* Networks whose file is gone go first: keep the names that are still there. */
    for (size_t i = 0; i < network_count;) {
        if (faccessat(dir_fd, networks[i].file, F_OK, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
            drop_network(i);
        else
            i++;
    }
    errno = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_type == DT_REG || e->d_type == DT_UNKNOWN)
            load(e->d_name);
    int failed = errno != 0;
    if (closedir(d) != 0)
        log_error("closedir: %m");
    return failed ? -1 : 0;
}

int config_open(const char *dir, uint16_t port, int epoll_fd)
{
    listen_port = port;
    epoll = epoll_fd;
    dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0)
        return -1;
    inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd < 0)
        return -1;
    /* Watched through /proc/self/fd: the directory we hold, whatever happens to its path. */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", dir_fd);
    watch = inotify_add_watch(inotify_fd, path, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE
                                                    | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
    if (watch < 0)
        return -1;
    /* The parent tells when the directory goes (rmdir or rename): see config_gone. */
    char parent[PATH_MAX];
    const char *slash = strrchr(dir, '/');
    size_t plen = slash ? (size_t)(slash - dir) : 0;
    if (plen >= sizeof parent || strlen(slash ? slash + 1 : dir) > NAME_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(parent, slash ? dir : ".", slash ? (plen ? plen : 1) : 1);
    parent[slash ? (plen ? plen : 1) : 1] = 0;
    strcpy(base, slash ? slash + 1 : dir);
    parent_watch = inotify_add_watch(inotify_fd, parent, IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR);
    if (parent_watch < 0)
        return -1;
    return rescan() == 0 ? 0 : -1;
}

int config_drain(void)
{
    /* Aligned for struct inotify_event; a name is at most NAME_MAX + 1 bytes. */
    char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t len = read(inotify_fd, buf, sizeof buf);
        if (len < 0)
            return errno == EAGAIN ? 0 : errno == EINTR ? config_drain() : -1;
        for (char *p = buf; p < buf + len;) {
            struct inotify_event *e = (struct inotify_event *)p;
            p += sizeof *e + e->len;
            if (e->wd == parent_watch) {
                if (e->len > 0 && strcmp(e->name, base) == 0) {
                    gone = 1;
                    return 1;
                }
                continue;
            }
            if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                gone = 1;
                return 1;
            }
            if (e->mask & IN_Q_OVERFLOW) {
                int r = rescan();
                if (r != 0)
                    return r;
                continue;
            }
            if (e->len == 0)
                continue;
            if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
                struct dns_network *n = by_file(e->name);
                if (n)
                    drop_network((size_t)(n - networks));
            } else {
                load(e->name);
            }
        }
    }
}

struct dns_network *config_by_udp(int fd)
{
    for (size_t i = 0; i < network_count; i++)
        if (networks[i].udp == fd)
            return &networks[i];
    return NULL;
}

struct dns_network *config_by_tcp(int fd)
{
    for (size_t i = 0; i < network_count; i++)
        if (networks[i].tcp == fd)
            return &networks[i];
    return NULL;
}

struct dns_network *config_by_listen(uint32_t address)
{
    for (size_t i = 0; i < network_count; i++)
        if (networks[i].listen == address && networks[i].udp >= 0)
            return &networks[i];
    return NULL;
}

int config_is_listen(uint32_t address)
{
    for (size_t i = 0; i < network_count; i++)
        if (networks[i].listen == address)
            return 1;
    return 0;
}

long config_answer(const struct dns_network *n, const uint8_t *m, size_t len, const struct dns_query *q,
                   uint8_t *out, size_t cap, int have_upstream)
{
    (void)len;
    if (dns_opcode(q) != 0 || q->qclass != DNS_CLASS_IN)
        return (long)dns_build_response(out, cap, m, q, DNS_RCODE_NOTIMP, NULL, 0, NULL);
    uint32_t found[64];
    size_t count = 0;
    int known = 0;
    for (size_t i = 0; i < n->count; i++) {
        if (strcmp(n->records[i].name, q->name) != 0)
            continue;
        known = 1;
        int seen = 0;
        for (size_t j = 0; j < count; j++)
            seen |= found[j] == n->records[i].address;
        if (!seen && count < sizeof found / sizeof *found)
            found[count++] = n->records[i].address;
    }
    if (known)   /* AAAA and other types: the name exists, without such a record */
        return (long)dns_build_response(out, cap, m, q, DNS_RCODE_NOERROR, found, q->type == DNS_TYPE_A ? count : 0, NULL);
    uint32_t reverse;
    if (q->type == DNS_TYPE_PTR && dns_reverse_address(q->name, &reverse) == 0)
        for (size_t i = 0; i < n->count; i++)   /* the first name of the address's first line */
            if (n->records[i].address == reverse)
                return (long)dns_build_response(out, cap, m, q, DNS_RCODE_NOERROR, NULL, 0, n->records[i].name);
    int dotted = strchr(q->name, '.') != NULL;
    if (!dotted || !have_upstream)   /* dnsmasq's domain-needed: a single label is never sent out */
        return (long)dns_build_response(out, cap, m, q, dotted ? DNS_RCODE_SERVFAIL : DNS_RCODE_NXDOMAIN, NULL, 0, NULL);
    return 0;
}
