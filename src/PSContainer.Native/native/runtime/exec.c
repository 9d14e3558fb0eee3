/* exec: a new process in a running container, as runc's `exec` (what conmon and containerd's shim call).
 *
 *   runtime (host; a child subreaper)       --fork-->  intermediate: setns into every namespace of the container's
 *     writes the final pid into the                    init that differs from ours (user last), fork()s (the child
 *     container's cgroups, says "go",                  lands in the container's pid namespace), sends that pid up,
 *     reads READY or an error, writes                  exits; the final process is re-parented to the runtime
 *     --pid-file, then exits (--detach)
 *     or waits and exits with the
 *     process's status                                 final: waits for "go" (it is in the cgroup by then), takes
 *                                                      the pty (--tty), rlimits, no_new_privs, bounding set, user,
 *                                                      capabilities, cwd, checks the command, READY, execve.
 *
 * The runtime runs from a sealed memfd copy (CVE-2019-5736): the exec'd process's parent until execve is never the
 * binary on disk. The host's --console-socket is connected before any setns, the pty is made inside. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime.h"

enum { X_READY = 1, X_ERROR = 2 };
struct x_msg {
    int type;
    pid_t pid;
    struct rt_error err;
};

/* user namespace last: as host root we may join the others first, and one owned by the host's user namespace (a
 * network namespace joined by path) could not be joined from inside the container's */
static const struct { const char *name; int flag; } ns_order[] = {
    {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
    {"pid", CLONE_NEWPID},       {"mnt", CLONE_NEWNS},  {"user", CLONE_NEWUSER},
};
#define N_NS (sizeof ns_order / sizeof *ns_order)

static int open_namespaces(pid_t pid, int fds[N_NS])
{
    for (size_t i = 0; i < N_NS; i++) {
        char theirs[64], ours[64];
        snprintf(theirs, sizeof theirs, "/proc/%d/ns/%s", pid, ns_order[i].name);
        snprintf(ours, sizeof ours, "/proc/self/ns/%s", ns_order[i].name);
        struct stat a, b;
        if (stat(theirs, &a) < 0) {
            if (errno == ENOENT && strcmp(ns_order[i].name, "cgroup") == 0)
                continue;
            return err_sys("stat %s", theirs);
        }
        if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
            continue; /* shared with the host (e.g. --network host): nothing to join */
        if ((fds[i] = open(theirs, O_RDONLY | O_CLOEXEC)) < 0)
            return err_sys("open %s", theirs);
    }
    return 0;
}

static int add_env(struct rt_spec *p, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq)
        return err_msg(1, "exec: --env %s: expected KEY=VALUE", kv);
    size_t klen = (size_t)(eq - kv), n = 0;
    for (; p->env && p->env[n]; n++)
        if (strncmp(p->env[n], kv, klen + 1) == 0) {
            p->env[n] = (char *)kv;
            return 0;
        }
    char **env = realloc(p->env, (n + 2) * sizeof *env);
    if (!env)
        abort();
    env[n] = (char *)kv;
    env[n + 1] = NULL;
    p->env = env;
    return 0;
}

static int build_process(const struct exec_opts *o, const struct rt_state *st, struct rt_spec *p)
{
    memset(p, 0, sizeof *p);
    if (o->process_file) {
        p->json = json_object_from_file(o->process_file);
        if (!p->json)
            return err_msg(1, "exec: --process %s: %s", o->process_file,
                           json_util_get_last_err() ? json_util_get_last_err() : "invalid");
        return spec_parse_process(p->json, p);
    }
    if (o->nargs == 0)
        return err_msg(1, "exec: a command is required (arguments after the container id, or --process FILE)");
    /* the container's own process settings are the defaults (runc's behaviour), the flags override them */
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/config.json", st->bundle);
    p->json = json_object_from_file(path);
    json_object *proc = NULL;
    if (!p->json || !json_object_object_get_ex(p->json, "process", &proc))
        return err_msg(1, "exec: cannot read the container's %s", path);
    if (spec_parse_process(proc, p) < 0)
        return -1;
    p->args = o->args;
    p->terminal = o->tty;
    for (int i = 0; i < o->nenv; i++)
        if (add_env(p, o->env[i]) < 0)
            return -1;
    if (o->cwd) {
        if (o->cwd[0] != '/')
            return err_msg(1, "exec: --cwd must be an absolute path");
        p->cwd = o->cwd;
    }
    if (o->user) {
        char *end;
        unsigned long uid = strtoul(o->user, &end, 10), gid = 0;
        if (end == o->user || (*end && *end != ':'))
            return err_msg(1, "exec: --user %s: expected uid[:gid]", o->user);
        if (*end == ':') {
            const char *g = end + 1;
            gid = strtoul(g, &end, 10);
            if (end == g || *end)
                return err_msg(1, "exec: --user %s: expected uid[:gid]", o->user);
        }
        p->uid = (uid_t)uid;
        p->gid = (gid_t)gid;
        p->n_additional_gids = 0;
    }
    if (o->ngids > 0) { /* runc's --additional-gids: replaces the process's supplementary groups */
        p->n_additional_gids = (size_t)o->ngids;
        p->additional_gids = calloc((size_t)o->ngids, sizeof *p->additional_gids);
        if (!p->additional_gids)
            abort();
        for (int i = 0; i < o->ngids; i++) {
            char *end;
            errno = 0;
            unsigned long g = strtoul(o->gids[i], &end, 10);
            if (errno || end == o->gids[i] || *end || o->gids[i][0] == '-' || g > INT32_MAX)
                return err_msg(1, "exec: --additional-gids %s: expected a group id", o->gids[i]);
            p->additional_gids[i] = (gid_t)g;
        }
    }
    for (int i = 0; i < o->ncaps; i++) {
        int c = cap_from_name(o->caps[i]);
        if (c < 0)
            return err_msg(1, "exec: unknown capability \"%s\"", o->caps[i]);
        uint64_t bit = 1ULL << c;
        p->has_caps = true;
        p->cap_bounding |= bit, p->cap_effective |= bit, p->cap_permitted |= bit, p->cap_inheritable |= bit;
        p->cap_ambient |= bit;
    }
    if (o->no_new_privs)
        p->no_new_privileges = true;
    return 0;
}

/* the final process, in every namespace of the container; reports on SYNC and execs */
static int final_build(const struct rt_spec *p, int console_fd, int preserve_fds, char *exe, size_t exelen)
{
    if (p->terminal && console_setup(console_fd, p) < 0)
        return -1;
    if (console_fd >= 0)
        close(console_fd);
    if (process_rlimits(p) < 0 || pass_fds(preserve_fds) < 0)
        return -1;
    if (process_become(p, exe, exelen) < 0)
        return -1;
    return seccomp_load_for_agent();
}

static void final_main(const struct rt_spec *p, int sync_fd, int console_fd, int preserve_fds)
{
    struct x_msg msg = {0};
    char go, exe[PATH_MAX];
    /* no PR_SET_PDEATHSIG here: our parent is the intermediate, which exits at once. If the runtime dies, its end
     * of the socket closes and this read returns 0. */
    seccomp_notify_set_sync(sync_fd);
    if (read(sync_fd, &go, 1) != 1)
        _exit(1);
    signal(SIGPIPE, SIG_DFL);
    if (final_build(p, console_fd, preserve_fds, exe, sizeof exe) < 0) {
        msg.type = X_ERROR;
        msg.err = g_err;
        write_all(sync_fd, &msg, sizeof msg);
        _exit(g_err.code);
    }
    msg.type = X_READY;
    if (write_all(sync_fd, &msg, sizeof msg) < 0)
        _exit(1);
    close(sync_fd);
    if (security_before_exec(p) < 0) {
        dprintf(STDERR_FILENO, "psc-runtime: %s\n", g_err.msg);
        _exit(g_err.code);
    }
    execve(exe, p->args, p->env);
    int e = errno;
    dprintf(STDERR_FILENO, "psc-runtime: exec %s: %s (errno %d)\n", exe, strerror(e), e);
    _exit(e == ENOENT ? 127 : 126);
}

static pid_t g_exec_pid;
static void forward(int sig)
{
    if (g_exec_pid > 0)
        kill(g_exec_pid, sig);
}

static int write_pid(const char *path, pid_t pid)
{
    char tmp[PATH_MAX], buf[32];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(buf, sizeof buf, "%d", pid);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_sys("open pid file %s", tmp);
    int r = write_all(fd, buf, strlen(buf));
    close(fd);
    if (r < 0 || rename(tmp, path) < 0)
        return err_sys("write pid file %s", path);
    return 0;
}

int cmd_exec(const struct exec_opts *o)
{
    struct rt_state st;
    if (state_read(o->id, &st) < 0)
        return -1;
    const char *status = state_status(&st);
    if (strcmp(status, "stopped") == 0)
        return err_msg(1, "cannot exec in a stopped container");
    if (strcmp(status, "paused") == 0)
        return err_msg(1, "cannot exec in a paused container");
    struct rt_spec p;
    if (build_process(o, &st, &p) < 0)
        return -1;
    p.container_id = o->id;
    if (o->apparmor)
        p.apparmor_profile = o->apparmor;
    if (o->process_label)
        p.selinux_label = o->process_label;
    if (lsm_check(p.apparmor_profile, p.selinux_label) < 0 || seccomp_from_bundle(st.bundle, &p) < 0 ||
        seccomp_prepare(p.seccomp, p.seccomp_len, p.no_new_privileges) < 0)
        return -1;
    if (p.terminal && !o->console_socket)
        return err_msg(1, "exec: a terminal (--tty or process.terminal) needs --console-socket");

    int nsfd[N_NS], sv[2] = {-1, -1}, console_fd = -1, r = -1;
    for (size_t i = 0; i < N_NS; i++)
        nsfd[i] = -1;
    pid_t mid = -1, pid = -1;
    struct cgroup_placement placement;
    placement_init(&placement);
    if (open_namespaces(st.pid, nsfd) < 0)
        goto out;
    if (proc_start_time(st.pid) != st.start_time) { /* the pid we opened must still be the container's init */
        err_msg(1, "container \"%s\" is not running", o->id);
        goto out;
    }
    if (placement_open(&st.cg, &placement) < 0)
        goto out;
    if (p.terminal && (console_fd = unix_connect(o->console_socket, "console socket")) < 0)
        goto out;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        err_sys("socketpair");
        goto out;
    }
    /* CVE-2016-9962: from the moment the final process exists in the container's pid namespace until it execs, it
     * holds our descriptors and memory; not dumpable (inherited through both forks), no container process may
     * ptrace it or open its /proc files */
    if (confine_nondumpable() < 0)
        goto out;
    /* the final process is our grandchild: when the intermediate exits it is re-parented to us */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        err_sys("prctl PR_SET_CHILD_SUBREAPER");
        goto out;
    }
    /* the intermediate process is made in the container's cgroups and joins its v1 hierarchies before it enters
     * any namespace; the final process, its child, inherits them */
    mid = placement_clone(&placement, 0);
    if (mid < 0) {
        err_sys("fork");
        goto out;
    }
    if (mid == 0) {
        close(sv[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        struct x_msg m = {0};
        if (placement_join_self(&placement) < 0) {
            m.type = X_ERROR;
            m.err = g_err;
            write_all(sv[1], &m, sizeof m);
            _exit(1);
        }
        for (size_t i = 0; i < N_NS; i++) {
            if (nsfd[i] >= 0 && setns(nsfd[i], ns_order[i].flag) < 0) {
                err_sys("setns %s namespace of pid %d", ns_order[i].name, st.pid);
                m.type = X_ERROR;
                m.err = g_err;
                write_all(sv[1], &m, sizeof m);
                _exit(1);
            }
        }
        pid_t c = fork();
        if (c == 0)
            final_main(&p, sv[1], console_fd, o->preserve_fds);
        if (c < 0) {
            err_sys("fork in the container's pid namespace");
            m.type = X_ERROR;
            m.err = g_err;
        } else {
            m.type = X_READY;
            m.pid = c;
        }
        write_all(sv[1], &m, sizeof m);
        _exit(c < 0);
    }
    close(sv[1]);
    sv[1] = -1;
    if (console_fd >= 0) {
        close(console_fd);
        console_fd = -1;
    }
    struct x_msg m;
    ssize_t n;
    while ((n = read(sv[0], &m, sizeof m)) < 0 && errno == EINTR)
        ;
    int mstatus;
    while (waitpid(mid, &mstatus, 0) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof m) {
        err_msg(1, "exec: the process exited during setup");
        goto out;
    }
    if (m.type == X_ERROR) {
        g_err = m.err;
        goto out;
    }
    pid = m.pid;
    /* in the container's cgroups before it runs anything of its own: the v2 one too when the clone could not
     * place the intermediate there */
    if (placement_finish(&placement, pid) < 0)
        goto out;
    placement_close(&placement);
    if (write_all(sv[0], "G", 1) < 0) {
        err_sys("sync with the exec process");
        goto out;
    }
    struct notify_state agent = {o->id, status, st.bundle, pid, st.pid, st.annotations};
    if (seccomp_notify_recv(sv[0], &m, sizeof m, &n, &agent) < 0)
        goto out;
    if (n != (ssize_t)sizeof m) {
        int status = 0;
        waitpid(pid, &status, 0);
        pid = -1;
        err_msg(1, "exec: the process exited during setup (%s %d)", WIFSIGNALED(status) ? "signal" : "status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        goto out;
    }
    if (m.type == X_ERROR) {
        g_err = m.err;
        g_err.msg[sizeof g_err.msg - 1] = 0;
        goto out;
    }
    if (o->pid_file && write_pid(o->pid_file, pid) < 0)
        goto out;
    close(sv[0]);
    sv[0] = -1;
    if (o->detach)
        return 0; /* it is re-parented to our parent's subreaper (conmon, the shim) or init */

    g_exec_pid = pid;
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    struct sigaction sa = {0};
    sa.sa_handler = forward;
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaction(sigs[i], &sa, NULL);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0) {
        if (errno != EINTR)
            return err_sys("waitpid %d", pid);
    }
    return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);

out:
    placement_close(&placement);
    {
        struct rt_error saved = g_err;
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        g_err = saved;
    }
    for (size_t i = 0; i < N_NS; i++)
        if (nsfd[i] >= 0)
            close(nsfd[i]);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    if (console_fd >= 0)
        close(console_fd);
    return r;
}
