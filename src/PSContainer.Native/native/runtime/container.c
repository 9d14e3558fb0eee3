/* create/start/run/state/kill/delete/list.
 *
 * create: the parent claims ROOT/ID, makes the exec fifo and the cgroup, then clone()s the child into its new
 * namespaces. The child blocks on the sync socket until the parent has written its id maps and moved it into the
 * cgroup, then builds the container (rootfs, mounts, pivot_root, user, caps), checks the command, reports READY
 * and blocks opening the exec fifo; `start` opens the other end and the child execs. Any failure in the child is
 * sent over the socket as {code, message}; the parent kills the child, removes cgroup and state, prints the one
 * error line and exits with the code. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

enum { MSG_READY = 1, MSG_ERROR = 2, MSG_PLACED = 3 };
struct sync_msg {
    int type;
    struct rt_error err;
};

struct go_msg { /* parent -> child: go on; the child's pid as the host sees it (for the hooks' state) */
    pid_t pid;
};

struct child_ctx {
    const struct rt_spec *spec;
    const struct rt_cgroup *cg;
    struct cgroup_placement *placement; /* the child joins its v1 cgroups itself first; NULL: the parent moves it */
    int sync_fd, fifo_fd, console_fd;
    bool new_userns, no_pivot;
    int preserve_fds;
    const char *id;
    pid_t host_pid;
};

bool g_systemd_cgroup;

/* the state JSON given to hooks: {ociVersion,id,status,pid,bundle,annotations} */
static char *hook_state(const char *id, const char *status, pid_t pid, const char *bundle, json_object *annotations)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ociVersion", json_object_new_string(PSC_OCI_VERSION));
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "status", json_object_new_string(status));
    json_object_object_add(o, "pid", json_object_new_int(pid));
    json_object_object_add(o, "bundle", json_object_new_string(bundle));
    json_object_object_add(o, "annotations", annotations ? json_object_get(annotations) : json_object_new_object());
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

static int child_build(struct child_ctx *c, char *exe, size_t exelen)
{
    const struct rt_spec *s = c->spec;
    if (ns_join(s, true) < 0 || ns_join(s, false) < 0)
        return -1;
    /* in a user namespace (new, or joined by path) the host's root is no id: become the namespace's root, who owns
     * what the rootfs setup creates */
    if ((c->new_userns || spec_ns(s, CLONE_NEWUSER)) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
        return err_sys("become root in the user namespace");
    /* now that the parent moved us into our cgroup, a new cgroup namespace makes it our "/" */
    const struct rt_ns *cgns = spec_ns(s, CLONE_NEWCGROUP);
    if (cgns && (cgns->path ? ns_join_type(s, CLONE_NEWCGROUP) : unshare(CLONE_NEWCGROUP)) < 0)
        return cgns->path ? -1 : err_sys("unshare cgroup namespace");
    if (s->hostname && *s->hostname) {
        if (!spec_ns(s, CLONE_NEWUTS))
            return err_msg(1, "config.json: hostname needs a uts namespace");
        if (sethostname(s->hostname, strlen(s->hostname)) < 0)
            return err_sys("sethostname %s", s->hostname);
    }
    umask(0); /* device nodes and mount points get exactly the modes we ask for */
    if (rootfs_prepare(s, c->cg) < 0)
        return -1;
    if (s->hooks) { /* in the container's namespaces, the host's filesystem still visible (before pivot_root) */
        char *st = hook_state(c->id, "created", c->host_pid, s->bundle, s->annotations);
        int r = hooks_run(s->hooks, "createContainer", st);
        free(st);
        if (r < 0)
            return -1;
    }
    if (rootfs_pivot(s, c->no_pivot) < 0)
        return -1;
    /* the command runs in cwd; like runc, make it if the image lacks it, resolved inside the new root */
    if (confine_make_cwd(s->cwd) < 0)
        return -1;
    if (s->terminal) { /* the container's own devpts is mounted now: the pty is the container's */
        if (console_setup(c->console_fd, s) < 0)
            return -1;
        close(c->console_fd);
        c->console_fd = -1;
    }
    if (process_sysctl(s) < 0 || rootfs_finalize_paths(s) < 0 || rootfs_finalize_readonly(s) < 0)
        return -1;
    if (process_rlimits(s) < 0 || process_oom_score_adj(s) < 0)
        return -1;
    /* CVE-2024-21626: no descriptor of the runtime may survive into the container (but --preserve-fds N) */
    if (pass_fds(c->preserve_fds) < 0)
        return -1;
    if (process_become(s, exe, exelen) < 0)
        return -1;
    return seccomp_load_for_agent();
}

static int child_main(void *arg)
{
    struct child_ctx *c = arg;
    struct sync_msg msg = {0};
    struct go_msg go;
    char exe[PATH_MAX];
    /* die with the parent while it still owns us (until READY) */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    seccomp_notify_set_sync(c->sync_fd);
    if (c->placement) { /* before anything else: in the container's cgroups (see cgroup_place.c) */
        msg.type = placement_join_self(c->placement) < 0 ? MSG_ERROR : MSG_PLACED;
        msg.err = g_err;
        if (write_all(c->sync_fd, &msg, sizeof msg) < 0 || msg.type == MSG_ERROR)
            _exit(1);
        memset(&msg, 0, sizeof msg);
    }
    if (read(c->sync_fd, &go, sizeof go) != (ssize_t)sizeof go)
        _exit(1);
    c->host_pid = go.pid;
    if (child_build(c, exe, sizeof exe) < 0) {
        msg.type = MSG_ERROR;
        msg.err = g_err;
        write_all(c->sync_fd, &msg, sizeof msg);
        _exit(g_err.code);
    }
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    msg.type = MSG_READY;
    if (write_all(c->sync_fd, &msg, sizeof msg) < 0)
        _exit(1);
    close(c->sync_fd);
    char *start_state = c->spec->hooks ? hook_state(c->id, "created", c->host_pid, c->spec->bundle, c->spec->annotations)
                                       : NULL;
    char fifo[64];
    snprintf(fifo, sizeof fifo, "/proc/self/fd/%d", c->fifo_fd);
    int w = open(fifo, O_WRONLY | O_CLOEXEC); /* blocks until `start` opens the other end */
    if (w < 0 || write(w, "0", 1) != 1) {
        dprintf(STDERR_FILENO, "psc-runtime: open exec fifo: %s\n", strerror(errno));
        _exit(1);
    }
    close(w);
    close(c->fifo_fd);
    if (start_state && hooks_run(c->spec->hooks, "startContainer", start_state) < 0) {
        dprintf(STDERR_FILENO, "psc-runtime: %s\n", g_err.msg);
        _exit(1);
    }
    if (security_before_exec(c->spec) < 0) {
        dprintf(STDERR_FILENO, "psc-runtime: %s\n", g_err.msg);
        _exit(g_err.code);
    }
    execve(exe, c->spec->args, c->spec->env);
    int e = errno;
    dprintf(STDERR_FILENO, "psc-runtime: exec %s: %s (errno %d)\n", exe, strerror(e), e);
    _exit(e == ENOENT ? 127 : 126);
}

static void reap_and_cleanup(pid_t pid, const char *id, struct rt_cgroup *cg)
{
    struct rt_error saved = g_err; /* cleanup must not replace the error being reported */
    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (cg && cg->n)
        cgroup_destroy(cg);
    state_remove(id);
    g_err = saved;
}

static int write_pid_file(const char *path, pid_t pid)
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

/* returns the container's pid, or -1 with g_err set and nothing left behind */
static pid_t do_create(const struct create_opts *o, struct rt_spec *spec, struct rt_cgroup *cg)
{
    memset(cg, 0, sizeof *cg);
    if (!valid_id(o->id))
        return err_msg(1, "invalid container id \"%s\"", o->id ? o->id : "");
    if (spec_load(o->bundle ? o->bundle : ".", spec) < 0)
        return -1;
    spec->container_id = o->id;
    spec->no_new_keyring = o->no_new_keyring;
    if (seccomp_prepare(spec->seccomp, spec->seccomp_len, spec->no_new_privileges) < 0)
        return -1;
    if (spec->terminal && !o->console_socket)
        return err_msg(1, "config.json: process.terminal is true but no --console-socket was given");
    /* relative bind sources are relative to the bundle, as in runc */
    if (chdir(spec->bundle) < 0)
        return err_sys("chdir %s", spec->bundle);
    char cgdefault[PATH_MAX], cgsystemd[PATH_MAX];
    if (g_systemd_cgroup && spec->cgroups_path) {
        int conv = spec_systemd_cgroup_path(spec->cgroups_path, cgsystemd, sizeof cgsystemd);
        if (conv < 0)
            return -1;
        if (conv > 0) {
            log_warn("systemd cgroup management is not supported: cgroupsPath \"%s\" is used as the plain cgroupfs "
                     "path %s", spec->cgroups_path, cgsystemd);
            spec->cgroups_path = cgsystemd;
        }
    }
    if (!spec->cgroups_path || !*spec->cgroups_path) {
        snprintf(cgdefault, sizeof cgdefault, "/pscontainer/%s", o->id);
        spec->cgroups_path = cgdefault;
    }
    if (state_claim(o->id) < 0)
        return -1;

    pid_t pid = -1;
    int sv[2] = {-1, -1}, fifo_fd = -1, console_fd = -1, early[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    struct cgroup_placement placement;
    bool placed = false;
    placement_init(&placement);
    char dir[PATH_MAX], fifo[PATH_MAX + 16];
    state_dir(o->id, dir, sizeof dir);
    snprintf(fifo, sizeof fifo, "%s/exec.fifo", dir);
    /* 0622: the container's user, whoever it is, must be able to open it for writing */
    if (mkfifo(fifo, 0600) < 0 || chmod(fifo, 0622) < 0) {
        err_sys("mkfifo %s", fifo);
        goto fail;
    }
    if ((fifo_fd = open(fifo, O_PATH | O_CLOEXEC)) < 0) {
        err_sys("open %s", fifo);
        goto fail;
    }
    if (cgroup_create(spec, cg) < 0 || cgroup_apply(spec, cg) < 0)
        goto fail;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        err_sys("socketpair");
        goto fail;
    }
    if (spec->terminal && (console_fd = unix_connect(o->console_socket, "console socket")) < 0)
        goto fail;
    /* setns(pid) only moves our future children, which is what we want */
    if (ns_join_type(spec, CLONE_NEWPID) < 0 || ns_join_early(spec, early) < 0)
        goto fail;

    int flags = SIGCHLD;
    for (size_t i = 0; i < spec->n_namespaces; i++)
        if (!spec->namespaces[i].path && spec->namespaces[i].flag != CLONE_NEWCGROUP)
            flags |= spec->namespaces[i].flag;
    const struct rt_ns *userns = spec_ns(spec, CLONE_NEWUSER);
    /* joining a user namespace by path clones through an intermediate process: the parent moves the child then */
    placed = !(userns && userns->path);
    if (placed && placement_open(cg, &placement) < 0)
        goto fail;
    struct child_ctx ctx = {spec, cg, placed ? &placement : NULL, sv[1], fifo_fd, console_fd,
                            (flags & CLONE_NEWUSER) != 0, o->no_pivot, o->preserve_fds, o->id, 0};
    /* the child is visible to the processes of a pid namespace it joins from its first instruction: it must never
     * be dumpable until it execs (inherited through clone) */
    if (confine_nondumpable() < 0)
        goto fail;
    if (!placed) { /* the new namespaces must be made inside the joined user namespace */
        pid = ns_clone_in_joined_userns(spec, flags, child_main, &ctx);
    } else {
        pid = placement_clone(&placement, flags & ~SIGCHLD);
        if (pid == 0)
            _exit(child_main(&ctx));
        if (pid < 0)
            err_sys("clone");
    }
    if (pid < 0) /* ns_clone_in_joined_userns set its own error */
        goto fail;
    if (ns_restore_early(early) < 0)
        goto fail;
    if (console_fd >= 0) {
        close(console_fd);
        console_fd = -1;
    }
    close(sv[1]);
    sv[1] = -1;
    if (ctx.new_userns && ns_write_id_maps(pid, spec) < 0)
        goto fail;
    if (placed) {
        placement_close(&placement);
        struct sync_msg placed_msg;
        ssize_t got;
        while ((got = read(sv[0], &placed_msg, sizeof placed_msg)) < 0 && errno == EINTR)
            ;
        if (got != (ssize_t)sizeof placed_msg || placed_msg.type == MSG_ERROR) {
            if (got == (ssize_t)sizeof placed_msg) {
                g_err = placed_msg.err;
                g_err.msg[sizeof g_err.msg - 1] = 0;
            } else {
                err_msg(1, "container process exited before joining its cgroups");
            }
            goto fail;
        }
        if (placement_finish(&placement, pid) < 0)
            goto fail;
    } else if (cgroup_join(cg, pid) < 0) {
        goto fail;
    }
    if (spec->hooks) { /* the namespaces exist, nothing of the container runs yet: in the runtime's namespace */
        char *st = hook_state(o->id, "creating", pid, spec->bundle, spec->annotations);
        int r = hooks_run(spec->hooks, "prestart", st);
        if (r == 0)
            r = hooks_run(spec->hooks, "createRuntime", st);
        free(st);
        if (r < 0)
            goto fail;
    }
    struct go_msg go = {pid};
    if (write_all(sv[0], &go, sizeof go) < 0) {
        err_sys("sync with container process");
        goto fail;
    }
    struct sync_msg msg;
    ssize_t n;
    struct notify_state agent = {o->id, "creating", spec->bundle, pid, pid, spec->annotations};
    if (seccomp_notify_recv(sv[0], &msg, sizeof msg, &n, &agent) < 0)
        goto fail;
    if (n != (ssize_t)sizeof msg) {
        int status = 0;
        waitpid(pid, &status, 0);
        pid = -1;
        err_msg(1, "container process exited during setup (%s %d)", WIFSIGNALED(status) ? "signal" : "status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        goto fail;
    }
    if (msg.type == MSG_ERROR) {
        g_err = msg.err;
        g_err.msg[sizeof g_err.msg - 1] = 0;
        goto fail;
    }

    struct rt_state st = {0};
    snprintf(st.id, sizeof st.id, "%s", o->id);
    st.pid = pid;
    st.start_time = proc_start_time(pid);
    snprintf(st.bundle, sizeof st.bundle, "%s", spec->bundle);
    snprintf(st.rootfs, sizeof st.rootfs, "%s", spec->rootfs);
    rfc3339_now(st.created, sizeof st.created);
    st.cg = *cg;
    st.annotations = spec->annotations;
    st.hooks = spec->hooks;
    if (state_write(&st) < 0 || (o->pid_file && write_pid_file(o->pid_file, pid) < 0))
        goto fail;
    close(sv[0]);
    close(fifo_fd);
    return pid;

fail:
    placement_close(&placement);
    ns_restore_early(early);
    if (console_fd >= 0)
        close(console_fd);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    if (fifo_fd >= 0)
        close(fifo_fd);
    reap_and_cleanup(pid, o->id, cg);
    return -1;
}

int cmd_create(const struct create_opts *o)
{
    struct rt_spec spec;
    struct rt_cgroup cg;
    return do_create(o, &spec, &cg) < 0 ? -1 : 0;
}

/* open the fifo's read end and take the child's byte: it then execs. Non-blocking, so a child that died after
 * create cannot hang us. */
static int release(const char *id, pid_t pid)
{
    char fifo[PATH_MAX];
    snprintf(fifo, sizeof fifo, "%s/%s/exec.fifo", g_root, id);
    int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return err_sys("open exec fifo %s", fifo);
    int r = -1;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, 100);
        if (n < 0 && errno != EINTR) {
            err_sys("poll exec fifo");
            break;
        }
        if (n > 0) {
            char c;
            ssize_t got = read(fd, &c, 1);
            if (got == 1) {
                r = 0;
                break;
            }
            if (got == 0 || (p.revents & POLLHUP)) {
                err_msg(1, "container process exited before start");
                break;
            }
        }
        if (kill(pid, 0) < 0 || proc_start_time(pid) == 0) {
            err_msg(1, "container process exited before start");
            break;
        }
    }
    close(fd);
    if (r == 0 && unlink(fifo) < 0) /* no fifo: the status is "running" */
        return err_sys("remove %s", fifo);
    return r;
}

/* poststart / poststop: a failing hook is a warning, the container's lifecycle goes on */
static void run_post_hooks(const struct rt_state *st, const char *kind, const char *status)
{
    if (!st->hooks)
        return;
    char *s = hook_state(st->id, status, st->pid, st->bundle, st->annotations);
    if (hooks_run(st->hooks, kind, s) < 0)
        log_warn("%s", g_err.msg);
    free(s);
}

int cmd_start(const char *id)
{
    struct rt_state st;
    if (state_read(id, &st) < 0)
        return -1;
    const char *status = state_status(&st);
    if (strcmp(status, "created") != 0)
        return err_msg(1, "cannot start a container that is %s", status);
    if (release(id, st.pid) < 0)
        return -1;
    run_post_hooks(&st, "poststart", "running");
    return 0;
}

static pid_t g_run_pid;
static void forward_signal(int sig)
{
    if (g_run_pid > 0)
        kill(g_run_pid, sig);
}

static int destroy(struct rt_state *st)
{
    if (cgroup_destroy(&st->cg) < 0)
        return -1;
    return state_remove(st->id);
}

int cmd_run(const struct create_opts *o)
{
    struct rt_spec spec;
    struct rt_cgroup cg;
    pid_t pid = do_create(o, &spec, &cg);
    if (pid < 0)
        return -1;
    g_run_pid = pid;
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    struct sigaction sa = {0};
    sa.sa_handler = forward_signal;
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaction(sigs[i], &sa, NULL);
    if (release(o->id, pid) < 0) {
        reap_and_cleanup(pid, o->id, &cg);
        return -1;
    }
    struct rt_state hst = {0};
    snprintf(hst.id, sizeof hst.id, "%s", o->id);
    snprintf(hst.bundle, sizeof hst.bundle, "%s", spec.bundle);
    hst.pid = pid;
    hst.annotations = spec.annotations;
    hst.hooks = spec.hooks;
    run_post_hooks(&hst, "poststart", "running");
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            err_sys("waitpid %d", pid);
            break;
        }
    }
    struct rt_state st = {0};
    snprintf(st.id, sizeof st.id, "%s", o->id);
    st.cg = cg;
    if (destroy(&st) < 0)
        log_error(g_err.msg);
    run_post_hooks(&hst, "poststop", "stopped");
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

json_object *state_json(const struct rt_state *st, const char *status_override)
{
    const char *status = status_override ? status_override : state_status(st);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ociVersion", json_object_new_string(PSC_OCI_VERSION));
    json_object_object_add(o, "id", json_object_new_string(st->id));
    json_object_object_add(o, "status", json_object_new_string(status));
    json_object_object_add(o, "pid", json_object_new_int(strcmp(status, "stopped") ? st->pid : 0));
    json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
    json_object_object_add(o, "created", json_object_new_string(st->created));
    json_object_object_add(o, "annotations", st->annotations ? json_object_get(st->annotations) : json_object_new_object());
    return o;
}

int cmd_state(const char *id)
{
    struct rt_state st;
    if (state_read(id, &st) < 0)
        return -1;
    json_object *o = state_json(&st, NULL);
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return 0;
}

int cmd_kill(const char *id, const char *signame, bool all)
{
    int sig = signal_from_name(signame ? signame : "TERM");
    if (sig <= 0)
        return err_msg(1, "invalid signal \"%s\"", signame);
    struct rt_state st;
    if (state_read(id, &st) < 0)
        return -1;
    if (all)
        return cgroup_kill(&st.cg, sig);
    if (strcmp(state_status(&st), "stopped") == 0)
        return err_msg(1, "container \"%s\" is not running", id);
    if (kill(st.pid, sig) < 0)
        return err_sys("kill %d", st.pid);
    return 0;
}

int cmd_delete(const char *id, bool force)
{
    struct rt_state st;
    if (state_read(id, &st) < 0) {
        /* runc: deleting an unknown container with --force is not an error */
        return force ? 0 : -1;
    }
    const char *status = state_status(&st);
    bool paused = strcmp(status, "paused") == 0;
    if ((strcmp(status, "running") == 0 || paused) && !force)
        return err_msg(1, "cannot delete container \"%s\" that is not stopped: %s", id, status);
    if (strcmp(status, "stopped") != 0) { /* created, or running/paused with --force */
        kill(st.pid, SIGKILL);
        if (paused && cgroup_freeze(&st.cg, false) < 0) /* a frozen task takes its SIGKILL once thawed */
            log_warn("%s", g_err.msg);
        for (int i = 0; i < 500 && proc_start_time(st.pid) == st.start_time; i++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (destroy(&st) < 0)
        return -1;
    run_post_hooks(&st, "poststop", "stopped");
    return 0;
}

int cmd_list(bool quiet, bool json)
{
    json_object *arr = json_object_new_array();
    if (!quiet && !json)
        printf("%-20s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
    int fd = open(g_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        struct rt_state st;
        if (state_read(e->d_name, &st) < 0)
            continue; /* being created or removed right now */
        if (quiet)
            printf("%s\n", st.id);
        else if (json) { /* runc's list format */
            const char *status = state_status(&st);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "ociVersion", json_object_new_string(PSC_OCI_VERSION));
            json_object_object_add(o, "id", json_object_new_string(st.id));
            json_object_object_add(o, "pid", json_object_new_int(strcmp(status, "stopped") ? st.pid : 0));
            json_object_object_add(o, "status", json_object_new_string(status));
            json_object_object_add(o, "bundle", json_object_new_string(st.bundle));
            json_object_object_add(o, "rootfs", json_object_new_string(st.rootfs));
            json_object_object_add(o, "created", json_object_new_string(st.created));
            json_object_object_add(o, "annotations", st.annotations ? json_object_get(st.annotations) : json_object_new_object());
            json_object_object_add(o, "owner", json_object_new_string(""));
            json_object_array_add(arr, o);
        }
        else {
            const char *status = state_status(&st);
            printf("%-20s %-8d %-10s %-40s %s\n", st.id, strcmp(status, "stopped") ? st.pid : 0, status, st.bundle,
                   st.created);
        }
    }
    if (d)
        closedir(d);
    if (json)
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(arr);
    return 0;
}

int cmd_pause(const char *id, bool pause)
{
    struct rt_state st;
    if (state_read(id, &st) < 0)
        return -1;
    const char *status = state_status(&st);
    if (pause && strcmp(status, "running") != 0)
        return err_msg(1, "container \"%s\" is not running (%s)", id, status);
    if (!pause && strcmp(status, "paused") != 0)
        return err_msg(1, "container \"%s\" is not paused (%s)", id, status);
    return cgroup_freeze(&st.cg, pause);
}

/* ps: the container's processes are the pids of its cgroup. json: an array of pids (runc's format); table: the
 * lines of `ps ARGS` (default -ef) whose PID column is one of them, with ps's header. */
int cmd_ps(const char *id, bool json, char **ps_args, int n_ps_args)
{
    struct rt_state st;
    if (state_read(id, &st) < 0)
        return -1;
    pid_t *pids;
    size_t n;
    if (cgroup_pids(&st.cg, &pids, &n) < 0)
        return -1;
    if (json) {
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            json_object_array_add(a, json_object_new_int(pids[i]));
        printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
        json_object_put(a);
        free(pids);
        return 0;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        free(pids);
        return err_sys("pipe");
    }
    char *argv[64] = {"ps"};
    int argc = 1;
    if (n_ps_args == 0)
        argv[argc++] = "-ef";
    for (int i = 0; i < n_ps_args && argc < 63; i++)
        argv[argc++] = ps_args[i];
    argv[argc] = NULL;
    pid_t child = fork();
    if (child == 0) {
        dup2(p[1], 1);
        execvp("ps", argv);
        dprintf(2, "psc-runtime: exec ps: %s\n", strerror(errno));
        _exit(127);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    char line[4096];
    int pidcol = -1;
    while (f && fgets(line, sizeof line, f)) {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", line);
        int col = 0;
        bool print = false;
        for (char *save = NULL, *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++) {
            if (pidcol < 0 && strcmp(t, "PID") == 0) {
                pidcol = col;
                print = true;
                break;
            }
            if (col == pidcol) {
                int v = atoi(t);
                for (size_t i = 0; i < n; i++)
                    print |= pids[i] == v;
                break;
            }
        }
        if (print)
            fputs(line, stdout);
    }
    if (f)
        fclose(f);
    free(pids);
    int status = 0;
    waitpid(child, &status, 0);
    if (pidcol < 0)
        return err_msg(1, "ps: no PID column in its output");
    return 0;
}
