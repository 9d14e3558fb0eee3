/* The container's terminal (--tty): `runtime create --console-socket` hands the pty master to the monitor, which
 * holds it for the container's life (conmon's role): what the container prints is logged as stdout and copied to
 * every attached client; what clients type goes to the container.
 *
 * Attach socket (--attach-socket PATH, a unix stream socket in the container's run dir; any number of clients):
 *   monitor -> client: the terminal's output, raw bytes. Output from before the first client ever attached (up to
 *                      EARLY_MAX bytes) is sent to that first client, so `docker run -it` loses no prompt. The
 *                      connection is closed when the container's terminal closes (it exited): the exit code is then
 *                      in the exit file. A client that cannot keep up (its socket buffer full) is disconnected rather
 *                      than let it stall the container.
 *   client -> monitor: frames of [type: 1 byte][length: 2 bytes, big-endian][payload: length bytes], length at most
 *                      FRAME_MAX: type 0 = input bytes for the terminal, type 1 = window size (rows, columns: two
 *                      2-byte big-endian numbers). Any other frame is a protocol error: the client is disconnected.
 *                      A client detaches by closing its connection.
 * The attach socket is bound through /proc/self/fd/N of its directory (as conmon does): a run dir can be longer
 * than sun_path. The console socket for `create` lives in a private mkdtemp directory under /tmp for the same
 * reason and is removed as soon as the master arrived. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define MAX_CLIENTS 8
#define FRAME_MAX 4096
#define EARLY_MAX 65536
#define RECEIVE_TIMEOUT_MS 10000

enum { FRAME_INPUT = 0, FRAME_RESIZE = 1 };

struct client {
    int fd;
    unsigned char in[3 + FRAME_MAX];
    size_t in_len;
};

static char console_dir[] = "/tmp/psc-console-XXXXXX";
static char console_path[sizeof console_dir + 8];
static int console_listen = -1, attach_listen = -1;
static char attach_path[PATH_MAX];
static struct client clients[MAX_CLIENTS];
static char early[EARLY_MAX];
static size_t early_len;
static bool ever_attached, console_dir_made;

static void broadcast(const char *p, size_t n);
static struct logstream con = {.fd = -1, .name = "stdout", .tee = broadcast};

static void drop_client(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in_len = 0;
}

static void broadcast(const char *p, size_t n)
{
    if (!ever_attached) {
        size_t room = EARLY_MAX - early_len;
        memcpy(early + early_len, p, n < room ? n : room);
        early_len += n < room ? n : room;
        return;
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (clients[i].fd < 0)
            continue;
        ssize_t w;
        while ((w = send(clients[i].fd, p, n, MSG_NOSIGNAL)) < 0 && errno == EINTR)
            ;
        if (w != (ssize_t)n) /* gone, or too slow: its buffer is full */
            drop_client(&clients[i]);
    }
}

int bind_in_dir(int fd, const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || !slash[1])
        return errno = EINVAL, -1;
    const char *name = path + (slash - dir) + 1;
    if (slash == dir)
        slash[1] = 0;
    else
        *slash = 0;
    int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int len = snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dfd, name);
    int r = -1;
    if (len > 0 && (size_t)len < sizeof addr.sun_path) {
        unlinkat(dfd, name, 0); /* a stale socket of an earlier run */
        r = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    } else {
        errno = ENAMETOOLONG;
    }
    int e = errno;
    close(dfd);
    errno = e;
    return r;
}

const char *console_socket_path(void) { return console_listen >= 0 ? console_path : NULL; }

int console_prepare(const struct options *o)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;
    if (!o->tty)
        return 0;
    if (!mkdtemp(console_dir))
        return -1;
    console_dir_made = true;
    snprintf(console_path, sizeof console_path, "%s/c.sock", console_dir);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", console_path);
    console_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (console_listen < 0 || bind(console_listen, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(console_listen, 1) < 0) {
        int e = errno;
        console_close();
        errno = e;
        return -1;
    }
    return 0;
}

static void console_socket_remove(void)
{
    if (console_listen >= 0) {
        close(console_listen);
        console_listen = -1;
        unlink(console_path);
    }
    if (console_dir_made) {
        rmdir(console_dir);
        console_dir_made = false;
    }
}

/* recvmsg of the one descriptor the runtime sends (payload: the pty's name). */
static int receive_fd(int sock)
{
    char name[PATH_MAX];
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    ssize_t n;
    while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
        return errno = EPROTO, -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static bool wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    return r > 0;
}

int console_receive(const struct options *o)
{
    if (!o->tty)
        return 0;
    int conn = -1, master = -1, r = -1;
    /* create has returned: the runtime connected and sent the master already, or never will */
    if (!wait_readable(console_listen, RECEIVE_TIMEOUT_MS)) {
        errno = ETIMEDOUT;
        goto out;
    }
    while ((conn = accept4(console_listen, NULL, NULL, SOCK_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (conn < 0 || !wait_readable(conn, RECEIVE_TIMEOUT_MS) || (master = receive_fd(conn)) < 0)
        goto out;
    if (fcntl(master, F_SETFL, O_NONBLOCK) < 0)
        goto out;
    snprintf(attach_path, sizeof attach_path, "%s", o->attach_socket);
    attach_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (attach_listen < 0 || bind_in_dir(attach_listen, attach_path) < 0 || listen(attach_listen, MAX_CLIENTS) < 0)
        goto out;
    con.fd = master;
    master = -1;
    r = 0;
out:
    {
        int e = errno;
        if (conn >= 0)
            close(conn);
        if (master >= 0)
            close(master);
        console_socket_remove();
        errno = e;
    }
    return r;
}

static void accept_client(void)
{
    int fd;
    while ((fd = accept4(attach_listen, NULL, NULL, SOCK_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (clients[i].fd >= 0)
            continue;
        if (!ever_attached) { /* still blocking: the early output goes out whole */
            ever_attached = true;
            /* ...but within a bound: a client that never reads must not stall the monitor's loop (logs, exit). */
            struct timeval bound = {.tv_sec = 2, .tv_usec = 0};
            if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound) < 0) {
                close(fd);
                return;
            }
            if (early_len && write_all(fd, early, early_len) < 0) {
                close(fd);
                return;
            }
        }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        clients[i].fd = fd;
        clients[i].in_len = 0;
        return;
    }
    close(fd); /* full */
}

static bool handle_frame(unsigned type, const unsigned char *p, size_t len)
{
    if (type == FRAME_INPUT) {
        /* the master is non-blocking: keys a container does not read are dropped once its input queue is full */
        while (len > 0) {
            ssize_t w = write(con.fd, p, len);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            p += w;
            len -= (size_t)w;
        }
        return true;
    }
    if (type == FRAME_RESIZE && len == 4) {
        struct winsize ws = {.ws_row = (unsigned short)(p[0] << 8 | p[1]), .ws_col = (unsigned short)(p[2] << 8 | p[3])};
        ioctl(con.fd, TIOCSWINSZ, &ws);
        return true;
    }
    return false;
}

static void read_client(struct client *c)
{
    ssize_t n;
    while ((n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len)) < 0 && errno == EINTR)
        ;
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        drop_client(c); /* detached */
        return;
    }
    c->in_len += (size_t)n;
    size_t start = 0;
    while (c->in_len - start >= 3) {
        unsigned type = c->in[start];
        size_t len = (size_t)c->in[start + 1] << 8 | c->in[start + 2];
        if (len > FRAME_MAX || type > FRAME_RESIZE) {
            drop_client(c);
            return;
        }
        if (c->in_len - start < 3 + len)
            break;
        if (con.fd >= 0 && !handle_frame(type, c->in + start + 3, len)) {
            drop_client(c);
            return;
        }
        start += 3 + len;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
}

int console_pollfds(struct pollfd *fds, int max)
{
    int n = 0;
    if (con.fd < 0 || max < 2 + MAX_CLIENTS)
        return 0;
    fds[n++] = (struct pollfd){.fd = con.fd, .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = attach_listen, .events = POLLIN};
    for (int i = 0; i < MAX_CLIENTS; i++)
        fds[n++] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
    return n;
}

void console_handle(const struct pollfd *fds, int n)
{
    if (n == 0)
        return;
    if (fds[0].revents && !log_pump(&con))
        console_close(); /* the terminal closed: every holder of its slave side is gone */
    if (con.fd >= 0 && fds[1].revents)
        accept_client();
    for (int i = 0; i < MAX_CLIENTS && i + 2 < n; i++)
        if (clients[i].fd >= 0 && fds[i + 2].fd == clients[i].fd && fds[i + 2].revents)
            read_client(&clients[i]);
}

void console_drain(void)
{
    /* bounded, as the pipes are: a process the container left behind may keep its terminal open */
    for (int round = 0; round < 64 && con.fd >= 0 && wait_readable(con.fd, 100); round++)
        if (!log_pump(&con))
            break;
}

void console_close(void)
{
    log_close(&con);
    /* A client that connected just before the terminal closed still waits in the backlog: taken now, the first one
     * gets the early output (a container that printed and exited before anyone attached, docker run -t), rather than
     * a connection closed unread. */
    for (int i = 0; attach_listen >= 0 && i < MAX_CLIENTS; i++)
        accept_client();
    for (int i = 0; i < MAX_CLIENTS; i++)
        drop_client(&clients[i]);
    if (attach_listen >= 0) {
        close(attach_listen);
        attach_listen = -1;
        unlink(attach_path);
    }
    console_socket_remove();
}
