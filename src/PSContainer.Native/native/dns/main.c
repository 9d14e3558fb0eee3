/* psc-dns: the one resolver of a PSContainer state root. It answers the containers of every user-defined network
 * with DNS enabled, each on its gateway's port 53 (UDP and TCP), from that network's records: A and PTR from
 * hosts-style records, an empty NOERROR for other types of a known name, NXDOMAIN for an unknown single label
 * (never forwarded), and everything else forwarded to the host's resolvers (forward.c). Its networks come from a
 * config directory the engine writes, one file per network, watched with inotify (config.c); the directory's
 * removal ends it. It runs as nobody keeping only CAP_NET_BIND_SERVICE (confine.c).
 *
 *   psc-dns --config-dir DIR [--ready-file FILE] [--resolv-conf FILE] [--port N]
 *
 * The ready file gets "ok PID\n" once psc-dns serves (privileges dropped), or "error MESSAGE\n". */
#include "dns.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;   /* CLOCK_MONOTONIC cannot fail on Linux; 0 only makes every deadline due */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void log_error(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    /* The log is stderr (the engine's /dev/null unless run by hand): nothing to do when it cannot be written. */
    if (write(2, "psc-dns: ", 9) < 0 || write(2, line, (size_t)n) < 0)
        return;
}

int epoll_watch(int epoll_fd, int fd, int kind, int value)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_DATA(kind, value)};
    return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

void epoll_forget(int epoll_fd, int fd)
{
    if (epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, NULL) != 0)
        log_error("epoll_ctl(DEL): %m");
}

size_t serve_query(const struct dns_network *n, const uint8_t *m, size_t len, const struct dns_origin *origin,
                   uint8_t *out, size_t cap, int epoll_fd)
{
    struct dns_query q;
    if (dns_parse_query(m, len, &q) != 0)
        return 0;
    long r = config_answer(n, m, len, &q, out, cap, forward_have_upstream());
    if (r > 0)
        return (size_t)r;
    if (r == 0 && forward_start(m, len, &q, origin, epoll_fd) < 0)
        log_error("cannot forward: %m");
    return 0;
}

/* Reads the datagrams waiting on a network's socket (a bounded batch, then back to the loop). */
static void udp_readable(int fd, int epoll_fd)
{
    static uint8_t buf[DNS_MAX_MESSAGE], reply[DNS_MAX_MESSAGE];
    for (int batch = 0; batch < 64; batch++) {
        /* Changes of the config directory first: a name the engine wrote before starting a container is known to
         * that container's first query, and a network that went away answers nothing. */
        if (config_drain() != 0)
            return;
        const struct dns_network *n = config_by_udp(fd);
        if (!n)
            return;
        struct sockaddr_in client;
        socklen_t clen = sizeof client;
        ssize_t len = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&client, &clen);
        if (len < 0) {
            if (errno != EAGAIN && errno != EINTR)
                log_error("recvfrom: %m");
            return;
        }
        if ((size_t)len > sizeof buf || clen != sizeof client)
            continue;   /* larger than any query we take */
        struct dns_origin origin = {.udp_fd = fd, .client = client, .tcp_slot = -1};
        size_t r = serve_query(n, buf, (size_t)len, &origin, reply, sizeof reply, epoll_fd);
        if (r > 0 && sendto(fd, reply, r, MSG_DONTWAIT, (struct sockaddr *)&client, clen) < 0)
            log_error("sendto: %m");
    }
}

/* Reports how the start went: through the ready file opened while root, else by path (still root), else stdout. */
static void report(const char *path, int fd, const char *line)
{
    if (fd < 0 && path) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            log_error("cannot write %s: %m", path);
    }
    if (fd < 0) {
        if (fputs(line, stdout) == EOF || fflush(stdout) == EOF)
            log_error("cannot write to stdout: %m");
        return;
    }
    size_t len = strlen(line);
    if (write(fd, line, len) != (ssize_t)len)
        log_error("cannot write the ready file: %m");
    if (close(fd) != 0)
        log_error("close: %m");
}

static int usage(const char *message, const char *option)
{
    fprintf(stderr, "psc-dns: %s%s\n", message, option);
    return 2;
}

int main(int argc, char **argv)
{
    const char *config_dir = NULL, *ready = NULL, *resolv_conf = "/etc/resolv.conf";
    long port = 53;
    for (int i = 1; i < argc; i += 2) {
        /* Every option takes a value: one left without it is an error, not silently ignored. */
        if (i + 1 >= argc) {
            fprintf(stderr, "psc-dns: option %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--config-dir") == 0) {
            config_dir = argv[i + 1];
        } else if (strcmp(argv[i], "--ready-file") == 0) {
            ready = argv[i + 1];
        } else if (strcmp(argv[i], "--resolv-conf") == 0) {
            resolv_conf = argv[i + 1];
        } else if (strcmp(argv[i], "--port") == 0) {
            char *end;
            errno = 0;
            port = strtol(argv[i + 1], &end, 10);
            if (errno || *end || end == argv[i + 1] || argv[i + 1][0] < '0' || argv[i + 1][0] > '9' || port < 1 || port > 65535) {
                fprintf(stderr, "psc-dns: --port '%s' is not a port number\n", argv[i + 1]);
                return 2;
            }
        } else {
            return usage("unknown option ", argv[i]);
        }
    }
    if (!config_dir)
        return usage("--config-dir is required", "");

    char err[256] = "";
    int ready_fd = -1;
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    sigset_t signals;
    int sig_fd = -1;
    if (epoll_fd < 0) {
        snprintf(err, sizeof err, "epoll_create1: %s", strerror(errno));
        goto failed;
    }
    /* SIGTERM/SIGINT end it cleanly through the loop; SIGHUP (a closed terminal) and SIGPIPE do not. */
    if (sigemptyset(&signals) != 0 || sigaddset(&signals, SIGTERM) != 0 || sigaddset(&signals, SIGINT) != 0
        || sigprocmask(SIG_BLOCK, &signals, NULL) != 0 || signal(SIGHUP, SIG_IGN) == SIG_ERR
        || signal(SIGPIPE, SIG_IGN) == SIG_ERR || (sig_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC)) < 0
        || epoll_watch(epoll_fd, sig_fd, EV_SIGNAL, sig_fd) != 0) {
        snprintf(err, sizeof err, "signals: %s", strerror(errno));
        goto failed;
    }
    if (forward_load_resolvers(resolv_conf) != 0) {
        snprintf(err, sizeof err, "cannot read %s: %s", resolv_conf, strerror(errno));
        goto failed;
    }
    if (config_open(config_dir, (uint16_t)port, epoll_fd) != 0) {
        snprintf(err, sizeof err, "cannot watch %s: %s", config_dir, strerror(errno));
        goto failed;
    }
    if (epoll_watch(epoll_fd, config_inotify_fd(), EV_INOTIFY, 0) != 0) {
        snprintf(err, sizeof err, "epoll_ctl: %s", strerror(errno));
        goto failed;
    }
    /* Opened while psc-dns may still create it; "ok" is written only once root is gone. */
    if (ready && (ready_fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        snprintf(err, sizeof err, "cannot create %s: %s", ready, strerror(errno));
        goto failed;
    }
    if (confine(err, sizeof err) != 0)
        goto failed;
    char line[64];
    snprintf(line, sizeof line, "ok %d\n", (int)getpid());
    report(ready, ready_fd, line);

    struct epoll_event events[32];
    while (!config_gone()) {
        int64_t now = now_ms();
        int a = forward_expire(now, epoll_fd), b = tcp_expire(now, epoll_fd);
        int timeout = a < 0 ? b : b < 0 ? a : (a < b ? a : b);
        if (timeout < 0 || timeout > 5000)
            timeout = 5000;   /* config_gone's fallback check, should the parent's watch miss the removal */
        int n = epoll_wait(epoll_fd, events, 32, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("epoll_wait: %m");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int kind = (int)(events[i].data.u64 >> 32), value = (int)(uint32_t)events[i].data.u64;
            switch (kind) {
            case EV_SIGNAL:
                return 0;
            case EV_INOTIFY:
                if (config_drain() < 0) {
                    log_error("inotify: %m");
                    return 1;
                }
                break;
            case EV_UDP:
                udp_readable(value, epoll_fd);
                break;
            case EV_TCP_LISTEN:
                if (config_drain() == 0 && config_by_tcp(value))
                    tcp_accept(value, epoll_fd);
                break;
            case EV_TCP_CONN:
                tcp_readable(value, epoll_fd);
                break;
            case EV_FORWARD:
                forward_readable(value, epoll_fd);
                break;
            }
            if (config_gone())
                break;
        }
    }
    return 0;

failed:
    {
        char line2[300];
        snprintf(line2, sizeof line2, "error %s\n", err);
        report(ready, ready_fd, line2);
    }
    return 1;
}
