/* The container's stdin without a terminal (--stdin, docker run -i without -t): the monitor makes a pipe whose read
 * end `runtime create` hands to the container's process as fd 0 and holds the write end for the container's life, so
 * the container's input stays open between attaches (docker's OpenStdin). Clients attach on --attach-socket:
 *   client -> monitor: the frames of console.c (type 0 = input bytes, type 1 = window size, ignored here: there is no
 *                      terminal), and type 2 (no payload) = close the container's stdin once what came before it was
 *                      delivered, whatever --stdin-once says (Send-ContainerInput -EndOfInput). A client's input ends when it closes its connection (or shuts its sending side):
 *                      with --stdin-once (docker's StdinOnce) the container's stdin is then closed, so the container
 *                      reads EOF once everything sent before was delivered; without it the pipe stays open for the
 *                      next attach.
 *   monitor -> client: nothing; the connection is closed when the container exited. (The output is in the log.)
 * Input is not dropped: while the container does not read, the pipe fills, the monitor stops reading its clients, and
 * their sockets push back on them. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define STDIN_CLIENTS 8
#define STDIN_FRAME_MAX 4096
enum { FRAME_CLOSE_STDIN = 2 };

struct stdin_client {
    int fd;
    bool eof; /* its input ended: what is left in `in` is still delivered, then it is dropped */
    unsigned char in[3 + STDIN_FRAME_MAX];
    size_t in_len;
};

static int pipe_read = -1, pipe_write = -1, listen_fd = -1;
static bool once, close_when_flushed;
static char socket_path[PATH_MAX];
static struct stdin_client clients[STDIN_CLIENTS];
/* bytes of a frame the pipe did not take yet: while any are left no client is read */
static unsigned char pending[STDIN_FRAME_MAX];
static size_t pending_len, pending_at;

int stdin_prepare(const struct options *o)
{
    for (int i = 0; i < STDIN_CLIENTS; i++)
        clients[i].fd = -1;
    if (!o->open_stdin)
        return 0;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    /* only our end is non-blocking: the container reads its stdin as any pipe */
    if (fcntl(p[1], F_SETFL, O_NONBLOCK) < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        errno = e;
        return -1;
    }
    pipe_read = p[0];
    pipe_write = p[1];
    once = o->stdin_once;
    return 0;
}

int stdin_child_fd(void) { return pipe_read; }

int stdin_listen(const struct options *o)
{
    if (!o->open_stdin)
        return 0;
    /* the container holds its own copy of the read end now; ours would keep it from ever seeing a broken pipe */
    if (pipe_read >= 0) {
        close(pipe_read);
        pipe_read = -1;
    }
    snprintf(socket_path, sizeof socket_path, "%s", o->attach_socket);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd < 0 || bind_in_dir(listen_fd, socket_path) < 0 || listen(listen_fd, STDIN_CLIENTS) < 0) {
        int e = errno;
        stdin_close();
        errno = e;
        return -1;
    }
    return 0;
}

static void drop(struct stdin_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in_len = 0;
    c->eof = false;
}

static void close_pipe(void)
{
    if (pipe_write >= 0)
        close(pipe_write);
    pipe_write = -1;
    pending_len = pending_at = 0;
}

/* Writes what is pending; true when nothing is left. A container that closed its stdin takes nothing more. */
static bool flush_pending(void)
{
    while (pending_at < pending_len && pipe_write >= 0) {
        ssize_t w = write(pipe_write, pending + pending_at, pending_len - pending_at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return false;
        if (w <= 0) { /* EPIPE: no reader left; its input is discarded from now on */
            close_pipe();
            break;
        }
        pending_at += (size_t)w;
    }
    pending_len = pending_at = 0;
    if (close_when_flushed)
        close_pipe();
    return true;
}

/* Delivers the client's complete frames until the pipe is full; false on a protocol error. */
static bool deliver(struct stdin_client *c)
{
    size_t start = 0;
    while (pending_len == 0 && c->in_len - start >= 3) {
        unsigned type = c->in[start];
        size_t len = (size_t)c->in[start + 1] << 8 | c->in[start + 2];
        if (len > STDIN_FRAME_MAX || type > FRAME_CLOSE_STDIN || (type == FRAME_CLOSE_STDIN && len != 0))
            return false;
        if (c->in_len - start < 3 + len)
            break;
        if (type == FRAME_CLOSE_STDIN) {
            close_when_flushed = true;
            if (pending_len == 0)
                close_pipe();
        } else if (type == 0 && pipe_write >= 0) {
            memcpy(pending, c->in + start + 3, len);
            pending_len = len;
            pending_at = 0;
            flush_pending();
        }
        start += 3 + len;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    return true;
}

static bool has_frame(const struct stdin_client *c)
{
    return c->in_len >= 3 && c->in_len >= 3 + ((size_t)c->in[1] << 8 | c->in[2]);
}

/* A client whose input ended and was delivered (a frame it left unfinished is dropped): with --stdin-once the
 * container's input ends with it. */
static void finish_if_done(struct stdin_client *c)
{
    if (!c->eof || (pipe_write >= 0 && has_frame(c)))
        return;
    drop(c);
    if (once) {
        close_when_flushed = true;
        if (pending_len == 0)
            close_pipe();
    }
}

static void read_client(struct stdin_client *c)
{
    ssize_t n;
    while ((n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len)) < 0 && errno == EINTR)
        ;
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0)
        c->eof = true; /* EOF, or a reset: its input is over either way */
    else
        c->in_len += (size_t)n;
    if (!deliver(c)) {
        drop(c);
        return;
    }
    finish_if_done(c);
}

static void accept_client(void)
{
    int fd;
    while ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0 && errno == EINTR)
        ;
    if (fd < 0)
        return;
    for (int i = 0; i < STDIN_CLIENTS; i++)
        if (clients[i].fd < 0) {
            clients[i].fd = fd;
            clients[i].in_len = 0;
            clients[i].eof = false;
            return;
        }
    close(fd); /* full */
}

int stdin_pollfds(struct pollfd *fds, int max)
{
    if (listen_fd < 0 || max < 2 + STDIN_CLIENTS)
        return 0;
    int n = 0;
    bool blocked = pending_len > 0 && pipe_write >= 0;
    fds[n++] = (struct pollfd){.fd = blocked ? pipe_write : -1, .events = POLLOUT};
    fds[n++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
    for (int i = 0; i < STDIN_CLIENTS; i++) {
        /* a full buffer or a full pipe: the client waits (its socket pushes back) */
        bool room = clients[i].in_len < sizeof clients[i].in && !clients[i].eof;
        fds[n++] = (struct pollfd){.fd = blocked || !room ? -1 : clients[i].fd, .events = POLLIN};
    }
    return n;
}

void stdin_handle(const struct pollfd *fds, int n)
{
    if (n == 0)
        return;
    if (fds[0].fd >= 0 && fds[0].revents) {
        if (fds[0].revents & (POLLERR | POLLHUP))
            close_pipe(); /* the container closed its stdin */
        else
            flush_pending();
        /* the pipe took the rest: the clients' buffered frames go on */
        for (int i = 0; i < STDIN_CLIENTS && pending_len == 0; i++)
            if (clients[i].fd >= 0) {
                if (!deliver(&clients[i]))
                    drop(&clients[i]);
                else
                    finish_if_done(&clients[i]);
            }
    }
    if (fds[1].revents)
        accept_client();
    for (int i = 0; i < STDIN_CLIENTS && i + 2 < n; i++)
        if (clients[i].fd >= 0 && fds[i + 2].fd == clients[i].fd && fds[i + 2].revents)
            read_client(&clients[i]);
}

void stdin_close(void)
{
    for (int i = 0; i < STDIN_CLIENTS; i++)
        drop(&clients[i]);
    close_pipe();
    if (pipe_read >= 0) {
        close(pipe_read);
        pipe_read = -1;
    }
    if (listen_fd >= 0) {
        close(listen_fd);
        listen_fd = -1;
        unlink(socket_path);
    }
}
