/* A small seccomp agent for SeccompNotify.Tests.ps1 (OCI runtime spec, config-linux.md "Seccomp", listenerPath).
 *
 *   seccomp-agent SOCKET RECORD ERRNO
 *
 * Listens on the unix stream socket SOCKET. Each connection carries one container process state (JSON) with the
 * listener fd in SCM_RIGHTS; the JSON goes to RECORD as a line "state <json> fds=<number of fds received>". The agent
 * then answers every notification of every listener it holds: mkdir/mkdirat get ERRNO as their error (0: success,
 * without creating anything), each recorded as "notify pid=<pid> nr=<syscall> path=<path argument>"; any other call
 * is let through (SECCOMP_USER_NOTIF_FLAG_CONTINUE). SIGTERM removes SOCKET and exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 32

static volatile sig_atomic_t g_stop;
static FILE *g_record;

static void on_term(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void die(const char *what)
{
    fprintf(stderr, "seccomp-agent: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* whether BUF holds one whole JSON object (a runtime may keep the connection open after it: runc 1.1 does) */
static int json_complete(const char *buf, size_t len)
{
    int depth = 0, in_str = 0, esc = 0, seen = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = buf[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (ch == '\\')
                esc = 1;
            else if (ch == '"')
                in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '{') {
            depth++, seen = 1;
        } else if (ch == '}' && --depth == 0 && seen) {
            return 1;
        }
    }
    return 0;
}

/* one connection: the state (until EOF or a whole object) and the fd that came with it; -1 when it brought none */
static int take_state(int conn)
{
    char buf[65536];
    size_t len = 0;
    int fd = -1, nfds = 0;
    for (;;) {
        union {
            char b[CMSG_SPACE(4 * sizeof(int))];
            struct cmsghdr align;
        } c;
        struct iovec iov = {buf + len, sizeof buf - 1 - len};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b};
        ssize_t n = recvmsg(conn, &m, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("recvmsg");
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
            if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
                int k = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                for (int i = 0; i < k; i++) {
                    int f;
                    memcpy(&f, CMSG_DATA(h) + i * sizeof(int), sizeof f);
                    if (fd < 0)
                        fd = f;
                    else
                        close(f);
                    nfds++;
                }
            }
        len += (size_t)n;
        if (n == 0 || len >= sizeof buf - 1 || json_complete(buf, len))
            break;
    }
    buf[len] = 0;
    fprintf(g_record, "state %s fds=%d\n", buf, nfds);
    fflush(g_record);
    return fd;
}

/* the path argument of the call, read from the caller's memory; checked with ID_VALID after (the pid may be reused) */
static void read_path(int nfd, const struct seccomp_notif *req, unsigned long addr, char *out, size_t len)
{
    char mem[64];
    snprintf(mem, sizeof mem, "/proc/%d/mem", req->pid);
    out[0] = 0;
    int fd = open(mem, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = pread(fd, out, len - 1, (off_t)addr);
    close(fd);
    out[n > 0 ? n : 0] = 0;
    out[strnlen(out, len - 1)] = 0;
    __u64 id = req->id;
    if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0)
        out[0] = 0;
}

/* one notification; false when the listener is gone */
static int answer(int nfd, int err)
{
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
        return errno == EINTR || errno == ENOENT;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    int nr = req.data.nr;
    if (nr == SYS_mkdir || nr == SYS_mkdirat) {
        char path[256];
        read_path(nfd, &req, (unsigned long)(nr == SYS_mkdir ? req.data.args[0] : req.data.args[1]), path, sizeof path);
        fprintf(g_record, "notify pid=%d nr=%d path=%s\n", req.pid, nr, path);
        fflush(g_record);
        resp.error = -err;
        resp.val = 0;
    } else {
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    }
    if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
        die("SECCOMP_IOCTL_NOTIF_SEND");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: seccomp-agent SOCKET RECORD ERRNO\n");
        return 2;
    }
    int err = atoi(argv[3]);
    if (!(g_record = fopen(argv[2], "a")))
        die("open the record file");
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
        die("sigaction");
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0)
        die("socket");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof addr.sun_path) {
        fprintf(stderr, "seccomp-agent: socket path too long\n");
        return 2;
    }
    strcpy(addr.sun_path, argv[1]);
    unlink(argv[1]);
    if (bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 8) < 0)
        die("bind/listen");
    fprintf(g_record, "listening\n");
    fflush(g_record);
    struct pollfd p[MAX_FDS + 1];
    int n = 0; /* listeners held */
    while (!g_stop) {
        p[0] = (struct pollfd){ls, POLLIN, 0};
        int r = poll(p, (nfds_t)n + 1, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("poll");
        for (int i = 1; i <= n; i++) {
            if (p[i].revents & POLLIN) {
                if (!answer(p[i].fd, err))
                    p[i].revents |= POLLHUP;
            }
            if (p[i].revents & (POLLHUP | POLLERR | POLLNVAL)) { /* every filtered process is gone */
                fprintf(g_record, "closed\n");
                fflush(g_record);
                close(p[i].fd);
                p[i] = p[n--];
                i--;
            }
        }
        if (p[0].revents & POLLIN) {
            int conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
            if (conn < 0)
                continue;
            int fd = take_state(conn);
            close(conn);
            if (fd >= 0 && n < MAX_FDS)
                p[++n] = (struct pollfd){fd, POLLIN, 0};
            else if (fd >= 0)
                close(fd);
        }
    }
    unlink(argv[1]);
    return 0;
}
