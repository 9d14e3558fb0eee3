/* Seccomp agents: linux.seccomp.listenerPath (OCI runtime spec, config-linux.md "Seccomp").
 *
 * A filter with SCMP_ACT_NOTIFY rules is loaded with SECCOMP_FILTER_FLAG_NEW_LISTENER in the container process
 * (seccomp.c: load), which gets the listener fd. That process has left the host's filesystem (pivot_root) and may be
 * in another network and user namespace, so it cannot reach the agent's socket: it passes the fd at once to the
 * runtime over the sync socket (a message of type PSC_MSG_SECCOMP_FD with the fd in SCM_RIGHTS), and the runtime,
 * still on the host, connects to listenerPath and sends the container process state ({ociVersion, fds:["seccompFd"],
 * pid, metadata, state}) with the fd, then closes the connection: one state per connection, as the spec asks.
 * Any failure there is the error of create/run/exec, taking the usual error path (the process is killed, cgroup and
 * state removed). runc does the same with pidfd_getfd; SCM_RIGHTS needs no ptrace access to the process.
 *
 * The handoff happens right after the load, before the runtime's own later calls: with the filter loaded, a notified
 * call waits until an agent answers, and none has the listener until the runtime sent it. So the handoff's own
 * sendmsg cannot be notified (an error, as runc refuses `write`, its handoff call), and a filter with a listener is
 * loaded before READY (seccomp_load_for_agent) rather than after `start` when nobody would be left to pass it on. */
#include <errno.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime.h"

static char *g_listener_path; /* absolute */
static char *g_listener_metadata;
static int g_sync_fd = -1; /* the container process's end of the sync socket */

static const char *str_field(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int seccomp_notify_check_rule(json_object *names, const char *single)
{
    size_t n = names && json_object_is_type(names, json_type_array) ? json_object_array_length(names) : 0;
    for (size_t i = 0; i < (single ? 1 : n); i++) {
        const char *name = single ? single : json_object_get_string(json_object_array_get_idx(names, i));
        if (name && strcmp(name, "sendmsg") == 0)
            return err_msg(1, "linux.seccomp: SCMP_ACT_NOTIFY cannot be used for sendmsg: psc-runtime passes the "
                              "listener to the agent with it, after the filter is loaded");
    }
    return 0;
}

int seccomp_notify_flags(json_object *sc, bool notify_rule, unsigned *kernel_flags)
{
    const char *path = str_field(sc, "listenerPath"), *meta = str_field(sc, "listenerMetadata");
    if (meta && *meta && !(path && *path))
        return err_msg(1, "linux.seccomp: listenerMetadata is set without listenerPath");
    if (!notify_rule) { /* the spec: listenerPath is ignored without SCMP_ACT_NOTIFY; the listener flags are not */
        if (*kernel_flags & (SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV))
            return err_msg(1, "linux.seccomp: flags SECCOMP_FILTER_FLAG_NEW_LISTENER and "
                              "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV need a rule with SCMP_ACT_NOTIFY");
        return 0;
    }
    if (!path || !*path)
        return err_msg(1, "linux.seccomp: SCMP_ACT_NOTIFY needs listenerPath, the seccomp agent's socket");
    *kernel_flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    /* the kernel takes TSYNC with a listener only when told to report a thread it cannot sync as ESRCH (what
     * libseccomp does for its TSYNC attribute with notify) */
    if (*kernel_flags & SECCOMP_FILTER_FLAG_TSYNC)
        *kernel_flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    return 0;
}

int seccomp_notify_configure(const char *text, size_t len)
{
    free(g_listener_path);
    free(g_listener_metadata);
    g_listener_path = g_listener_metadata = NULL;
    json_tokener *tok = json_tokener_new();
    if (!tok)
        abort();
    json_object *sc = len <= INT32_MAX ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    json_tokener_free(tok);
    const char *path = str_field(sc, "listenerPath"), *meta = str_field(sc, "listenerMetadata");
    int r = 0;
    if (!path || !*path) {
        r = err_msg(1, "linux.seccomp: SCMP_ACT_NOTIFY needs listenerPath, the seccomp agent's socket");
    } else if (path[0] == '/') {
        g_listener_path = strdup(path);
    } else { /* relative to where the runtime was started (create chdirs into the bundle afterwards) */
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            r = err_sys("getcwd");
        else if (asprintf(&g_listener_path, "%s/%s", cwd, path) < 0)
            abort();
    }
    if (r == 0 && !g_listener_path)
        abort();
    if (r == 0 && strlen(g_listener_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        r = err_msg(1, "linux.seccomp.listenerPath %s: longer than a unix socket path can be (%zu bytes)",
                    g_listener_path, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    if (r == 0 && meta && !(g_listener_metadata = strdup(meta)))
        abort();
    json_object_put(sc);
    return r;
}

void seccomp_notify_set_sync(int fd)
{
    g_sync_fd = fd;
}

int seccomp_notify_handoff(int notify_fd)
{
    int type = PSC_MSG_SECCOMP_FD;
    ssize_t n;
    if (g_sync_fd < 0) {
        errno = EBADF;
        n = -1;
    } else {
        n = send_with_fd(g_sync_fd, &type, sizeof type, notify_fd);
    }
    int e = errno;
    if (close(notify_fd) < 0 && n == (ssize_t)sizeof type)
        return err_sys("close the seccomp listener");
    errno = e;
    if (n != (ssize_t)sizeof type)
        return err_sys("pass the seccomp listener to the runtime");
    return 0;
}

/* the container process state of the spec, as one line of JSON */
static char *process_state(const struct notify_state *ns)
{
    json_object *st = json_object_new_object(), *o = json_object_new_object(), *fds = json_object_new_array();
    json_object_object_add(st, "ociVersion", json_object_new_string(PSC_OCI_VERSION));
    json_object_object_add(st, "id", json_object_new_string(ns->id));
    json_object_object_add(st, "status", json_object_new_string(ns->status));
    json_object_object_add(st, "pid", json_object_new_int(ns->state_pid));
    json_object_object_add(st, "bundle", json_object_new_string(ns->bundle));
    json_object_object_add(st, "annotations", ns->annotations ? json_object_get(ns->annotations) : json_object_new_object());
    json_object_object_add(o, "ociVersion", json_object_new_string(PSC_OCI_VERSION));
    json_object_array_add(fds, json_object_new_string("seccompFd"));
    json_object_object_add(o, "fds", fds);
    json_object_object_add(o, "pid", json_object_new_int(ns->pid));
    if (g_listener_metadata)
        json_object_object_add(o, "metadata", json_object_new_string(g_listener_metadata));
    json_object_object_add(o, "state", st);
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    if (!s)
        abort();
    return s;
}

/* one connection to the agent: the state with the fd in the first sendmsg, the rest (if the socket took only part)
 * after it, then close */
static int send_to_agent(int notify_fd, const struct notify_state *ns)
{
    if (!g_listener_path)
        return err_msg(1, "seccomp: a listener fd arrived but the filter has no listenerPath");
    int s = unix_connect(g_listener_path, "the seccomp agent at linux.seccomp.listenerPath");
    if (s < 0)
        return -1;
    char *text = process_state(ns);
    size_t len = strlen(text), done = 0;
    ssize_t n = send_with_fd(s, text, len, notify_fd);
    if (n > 0)
        done = (size_t)n;
    while (n > 0 && done < len) {
        n = send(s, text + done, len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            n = 1;
            continue;
        }
        if (n > 0)
            done += (size_t)n;
    }
    free(text);
    if (done < len) {
        err_sys("seccomp agent: send the container process state to %s", g_listener_path);
        close(s);
        return -1;
    }
    if (close(s) < 0)
        return err_sys("seccomp agent: close the connection to %s", g_listener_path);
    return 0;
}

int seccomp_notify_recv(int sock, void *msg, size_t len, ssize_t *got, const struct notify_state *ns)
{
    for (;;) {
        struct iovec iov = {msg, len};
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } c;
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf};
        ssize_t n;
        while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
            ;
        int fd = -1;
        for (struct cmsghdr *h = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL; h; h = CMSG_NXTHDR(&m, h))
            if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS && h->cmsg_len == CMSG_LEN(sizeof(int)))
                memcpy(&fd, CMSG_DATA(h), sizeof fd);
        int type = 0;
        if (n >= (ssize_t)sizeof type)
            memcpy(&type, msg, sizeof type);
        if (n != (ssize_t)sizeof type || type != PSC_MSG_SECCOMP_FD) {
            if (fd >= 0)
                close(fd); /* nothing else carries a descriptor */
            *got = n;
            return 0;
        }
        if (fd < 0)
            return err_msg(1, "seccomp: the container process sent no listener fd");
        int r = send_to_agent(fd, ns);
        /* the agent has its own copy now: the runtime's would keep the listener alive after the agent is gone */
        if (close(fd) < 0 && r == 0)
            r = err_sys("close the seccomp listener");
        if (r < 0)
            return -1;
    }
}
