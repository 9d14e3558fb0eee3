/* The monitor's life: run `runtime create`, report on the sync fd, then log the container's output until it
 * exits, write the exit file and leave. One poll() loop over the two pipes and a signalfd. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REAPED_RING 16

static pid_t create_pid = -1, start_pid = -1, ctr_pid = -1;
static bool create_done, start_done, ctr_done;
static int create_status, start_status, ctr_status;
static struct timespec ctr_finished; /* when the container was reaped: the exit file's finishedAt */
static bool reported;                /* the engine has heard the container runs: signals may go to it now */
static unsigned pending_signals;
static unsigned long long pending_relay; /* relay requests (MON_RELAY_SIGNAL): bit N, signal N */
/* children reaped before we knew the container's pid (it could die before we read the pid file) */
static struct { pid_t pid; int status; struct timespec at; } reaped[REAPED_RING];
static unsigned reaped_next;

static struct logstream out_stream = {.fd = -1, .name = "stdout"};
static struct logstream err_stream = {.fd = -1, .name = "stderr"};
static int sig_fd = -1;

static void reap_children(void)
{
    int st;
    pid_t p;
    if (start_pid > 0 && !start_done) {
        /* While `runtime start` runs, only it: its poststart hooks get the container's pid, which must not be
         * freed for reuse under them by reaping a container that exited at once. The rest is reaped once start
         * is done (the caller reaps again then). */
        if (waitpid(start_pid, &st, WNOHANG) == start_pid) {
            start_done = true;
            start_status = st;
            start_pid = -1;
        }
        return;
    }
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        if (ctr_pid > 0 && p == ctr_pid) {
            ctr_done = true;
            ctr_status = st;
            clock_gettime(CLOCK_REALTIME, &ctr_finished);
        } else if (p == create_pid) {
            create_done = true;
            create_status = st;
            create_pid = -1; /* never matched again: a later child may get its pid */
        } else if (ctr_pid <= 0) {
            reaped[reaped_next % REAPED_RING].pid = p;
            reaped[reaped_next % REAPED_RING].status = st;
            clock_gettime(CLOCK_REALTIME, &reaped[reaped_next % REAPED_RING].at);
            reaped_next++;
        } else {
            health_reaped(p, st);
        }
    }
}

static void forward_signals(void)
{
    if (ctr_pid <= 0 || !reported || (!pending_signals && !pending_relay))
        return; /* kept until the container's pid is known and the engine has heard it runs */
    if (!ctr_done) { /* never signal a pid that may have been recycled */
        for (int s = 1; s < 32; s++)
            if (pending_signals & (1u << s))
                kill(ctr_pid, s);
        for (int s = 1; s < 64; s++)
            if (pending_relay & (1ull << s))
                kill(ctr_pid, s);
    }
    pending_signals = 0;
    pending_relay = 0;
}

/* One round of the loop: wait up to timeout_ms for output or a signal and handle what came. */
static void step(int timeout_ms)
{
    struct pollfd fds[3 + HEALTH_NFDS + 16] = {
        {.fd = out_stream.fd, .events = POLLIN},
        {.fd = err_stream.fd, .events = POLLIN},
        {.fd = sig_fd, .events = POLLIN},
    };
    health_pollfds(&fds[3]);
    int extra = console_pollfds(fds + 3 + HEALTH_NFDS, 16);
    int in_extra = stdin_pollfds(fds + 3 + HEALTH_NFDS + extra, 16 - extra); /* only one of the two has any */
    int n = poll(fds, 3 + HEALTH_NFDS + (nfds_t)extra + (nfds_t)in_extra, timeout_ms);
    if (n < 0 && errno != EINTR) {
        /* cannot happen with valid fds; avoid a busy loop all the same */
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (n <= 0)
        return;
    /* stdout before stderr: of two lines that are both waiting, this is the likelier order */
    if (fds[0].revents)
        log_pump(&out_stream);
    if (fds[1].revents)
        log_pump(&err_stream);
    if (fds[2].revents) {
        int chld = 0;
        signals_read(sig_fd, &chld, &pending_signals, &pending_relay);
        if (chld)
            reap_children();
        forward_signals();
    }
    health_handle(&fds[3], ctr_done);
    console_handle(fds + 3 + HEALTH_NFDS, extra);
    stdin_handle(fds + 3 + HEALTH_NFDS + extra, in_extra);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int fail(const struct options *o, int code, const char *fmt, const char *arg)
{
    char msg[PATH_MAX + 256];
    snprintf(msg, sizeof msg, fmt, arg, strerror(errno));
    sync_report_fail(o->sync_fd, code, msg);
    return 1;
}

static int status_code(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1; }

int monitor_run(const struct options *o)
{
    if (o->sealed_runtime) {
        int fd = sealed_copy(o->runtime);
        if (fd < 0)
            return fail(o, MON_SELF_FAILURE, "psc-monitor: sealed copy of %s: %s", o->runtime);
        spawn_use_sealed_runtime(fd);
    }
    sig_fd = signals_setup();
    if (sig_fd < 0)
        return fail(o, MON_SELF_FAILURE, "psc-monitor: signalfd%s: %s", "");
    int log_fd = open(o->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (log_fd < 0)
        return fail(o, MON_SELF_FAILURE, "psc-monitor: open log %s: %s", o->log_path);
    log_set_output(log_fd, o->log_path, o->log_max_size, o->log_max_files);

    int outp[2], errp[2];
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
        return fail(o, MON_SELF_FAILURE, "psc-monitor: pipe%s: %s", "");
    fcntl(outp[0], F_SETFL, O_NONBLOCK); /* only our read ends: the container's ends stay blocking */
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    out_stream.fd = outp[0];
    err_stream.fd = errp[0];

    /* The runtime's stderr is the container's stderr, so its own error text is taken from its json log. */
    char runtime_log[PATH_MAX];
    const char *rt_log = runtime_log_make(o->exit_file, runtime_log);

    static char err_text[4096];
    err_stream.capture = err_text;
    err_stream.capture_cap = sizeof err_text;
    out_stream.quiet = err_stream.quiet = true;

    if (console_prepare(o) < 0)
        return fail(o, MON_SELF_FAILURE, "psc-monitor: console socket%s: %s", "");
    if (stdin_prepare(o) < 0) {
        int e = errno;
        console_close();
        errno = e;
        return fail(o, MON_SELF_FAILURE, "psc-monitor: stdin pipe%s: %s", "");
    }
    const char *create_args[] = {"create", "--bundle", o->bundle, "--pid-file", o->pid_file, o->id, NULL, NULL, NULL};
    if (console_socket_path()) {
        create_args[5] = "--console-socket";
        create_args[6] = console_socket_path();
        create_args[7] = o->id;
    }
    create_pid = spawn_runtime(o, create_args, rt_log, stdin_child_fd(), outp[1], errp[1]);
    int spawn_errno = errno;
    close(outp[1]);
    close(errp[1]);
    if (create_pid < 0) {
        if (rt_log)
            unlink(rt_log);
        console_close(); /* the console socket's temporary directory */
        stdin_close();
        errno = spawn_errno;
        return fail(o, MON_SELF_FAILURE, "psc-monitor: fork for %s: %s", o->runtime);
    }

    while (!create_done)
        step(-1);

    if (!WIFEXITED(create_status) || WEXITSTATUS(create_status) != 0) {
        int code = status_code(create_status);
        log_pump(&out_stream); /* whatever the runtime printed before it exited */
        log_pump(&err_stream);
        char msg[4096];
        if (!runtime_error_from_log(rt_log, msg, sizeof msg)) {
            if (err_stream.capture_len)
                snprintf(msg, sizeof msg, "%s", err_text);
            else
                snprintf(msg, sizeof msg, "%s create failed with exit code %d", o->runtime, code);
        }
        if (rt_log)
            unlink(rt_log);
        sync_report_fail(o->sync_fd, code, msg);
        console_close();
        stdin_close();
        return 1;
    }
    if (rt_log)
        unlink(rt_log);
    err_stream.capture = NULL;
    out_stream.quiet = err_stream.quiet = false;

    if (console_receive(o) < 0) {
        int e = errno;
        const char *del[] = {"delete", "--force", o->id, NULL};
        run_runtime_wait(o, del);
        console_close();
        stdin_close();
        errno = e;
        return fail(o, MON_SELF_FAILURE, "psc-monitor: no terminal from the runtime%s: %s", "");
    }
    if (stdin_listen(o) < 0) {
        int e = errno;
        const char *del[] = {"delete", "--force", o->id, NULL};
        run_runtime_wait(o, del);
        errno = e;
        return fail(o, MON_SELF_FAILURE, "psc-monitor: stdin attach socket%s: %s", "");
    }
    char pidtext[32];
    long pid = 0;
    if (read_small_file(o->pid_file, pidtext, sizeof pidtext) > 0)
        pid = strtol(pidtext, NULL, 10);
    if (pid <= 0) {
        const char *del[] = {"delete", "--force", o->id, NULL};
        run_runtime_wait(o, del);
        console_close();
        stdin_close();
        errno = EINVAL;
        return fail(o, MON_SELF_FAILURE, "psc-monitor: no container pid in %s: %s", o->pid_file);
    }
    ctr_pid = (pid_t)pid;
    for (unsigned i = 0; i < REAPED_RING && i < reaped_next; i++)
        if (reaped[i].pid == ctr_pid) {
            ctr_done = true;
            ctr_finished = reaped[i].at;
            ctr_status = reaped[i].status;
        }

    oom_setup(o->cgroup_path, ctr_pid);
    long oom_before = oom_count();

    if (o->start) {
        char msg[4096], start_log[PATH_MAX];
        int code = 1;
        start_pid = runtime_start_spawn(o, start_log, msg, sizeof msg);
        if (start_pid > 0) {
            while (!start_done)
                step(-1);
            reap_children(); /* what exited while start ran (the container itself, if it did at once) */
            code = runtime_start_result(o, start_status, start_log, msg, sizeof msg);
        }
        if (code != 0) {
            const char *del[] = {"delete", "--force", o->id, NULL};
            run_runtime_wait(o, del);
            console_close();
            stdin_close();
            sync_report_fail(o->sync_fd, MON_START_FAILURE, msg);
            return 1;
        }
    }
    /* only create re-executes itself into a sealed copy: the monitor does not keep its copy (~350 KB of unswappable
     * memory) for the container's life; delete and the health probes run the file */
    spawn_use_sealed_runtime(-1);
    sync_report_ok(o->sync_fd, ctr_pid, getpid(), o->start);
    reported = true;
    if (o->sync_fd >= 0)
        close(o->sync_fd);
    forward_signals();
    trim_resident();
    health_start(o);

    while (!ctr_done)
        step(-1);
    health_stop(); /* no probe after the exit, and none left running */
    stdin_close(); /* its clients see their connections close: the container exited */

    /* The container is gone: take what is still in the pipes (bounded: a process it left behind may hold them). */
    long deadline = now_ms() + DRAIN_TIMEOUT_MS;
    while (out_stream.fd >= 0 || err_stream.fd >= 0) {
        long left = deadline - now_ms();
        if (left <= 0)
            break;
        step((int)left);
    }
    console_drain();
    console_close();
    log_close(&out_stream);
    log_close(&err_stream);
    /* No fdatasync of the log here: readers (Get-ContainerLog, docker logs) see the page cache, and like docker's
     * json-file driver the log is not made to survive a power cut; an fdatasync on every exit cost a run-to-exit
     * and a stop one disk flush each (issue 15). */

    long oom_after = oom_count(); /* before the delete: the counter lives in the cgroup it removes */
    bool oom = oom_after > 0 && oom_after > (oom_before < 0 ? 0 : oom_before);
    /* The runtime's state and the container's cgroup go before the exit file appears, so whoever sees the exit
     * (Stop-Container, Start-Container -Wait, the exit command) finds nothing left for `runtime delete`: it no
     * longer runs on their path, started from the engine. A failed delete says so in the exit file and leaves the
     * state for the engine's clean-up; a monitor killed before this point leaves it to Reconcile and Repair. */
    bool deleted = runtime_delete_after_exit(o);
    write_exit_file(o->exit_file, ctr_status, oom, deleted, &ctr_finished);
    exit_command_run(o);
    return 0;
}
