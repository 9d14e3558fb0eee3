/* Healthchecks (docker's HEALTHCHECK): with no daemon, the monitor runs the probes. Each probe is
 * `runtime exec --process FILE ID` (the engine wrote FILE at start: the container's user, env, cwd, capabilities),
 * started by a one-shot timerfd in the monitor's poll loop, with its stdout and stderr in one non-blocking pipe.
 * The probe runs in a process group of its own, so a timeout (or the container's exit) kills the runtime and the
 * process it started in the container with one kill(). Nothing here blocks: a hung probe only costs a timer.
 *
 * Status as docker keeps it: starting -> healthy on a success; unhealthy after `retries` consecutive failures;
 * failures in the start period (while still starting) do not count. The last 5 results and the failing streak are
 * written to the status file (tmp + rename, so a reader never sees half of it), and each change of status appends
 * one `health_status: <status>` line to the events log in a single O_APPEND write, as the engine's EventLog does. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define HEALTH_OUTPUT_MAX 4096 /* docker's maxOutputLen */
#define HEALTH_LOG_MAX 5       /* docker's maxLogEntries */

struct health_result {
    struct timespec start, end;
    int exit_code;
    size_t output_len;
    char output[HEALTH_OUTPUT_MAX];
};

static const struct options *opts;
static int timer_fd = -1, out_fd = -1;
static pid_t probe_pid = -1;       /* the running probe (its process group id too) */
static struct health_result current;
static struct health_result results[HEALTH_LOG_MAX];
static int result_count, result_next;
static int failing_streak;
static const char *status = "starting";
static bool reaped_pending;        /* the probe was reaped; its result is taken in health_handle */
static int reaped_status;
static long long started_ms;       /* monotonic, when the container started (the start period's origin) */
static bool active;

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int arm(long long ms)
{
    struct itimerspec it = {0};
    if (ms < 1)
        ms = 1;
    it.it_value.tv_sec = ms / 1000;
    it.it_value.tv_nsec = (ms % 1000) * 1000000L;
    return timerfd_settime(timer_fd, 0, &it, NULL);
}

static bool in_start_period(void)
{
    return opts->health_start_period_ms > 0 && mono_ms() - started_ms < opts->health_start_period_ms;
}

/* docker: the start interval applies while the container is still starting within its start period */
static long long next_interval(void)
{
    if (strcmp(status, "starting") == 0 && in_start_period() && opts->health_start_interval_ms > 0)
        return opts->health_start_interval_ms;
    return opts->health_interval_ms;
}

/* Copies text into a JSON string body, replacing bytes that are not UTF-8 (a cut at 4096 bytes can split a
 * character) with '?', so the engine's strict JSON reader never rejects the file. */
static size_t json_utf8(char *dst, size_t cap, const char *src, size_t len)
{
    char clean[HEALTH_OUTPUT_MAX];
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof clean;) {
        unsigned char c = (unsigned char)src[i];
        size_t want = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        bool ok = want > 0 && i + want <= len && n + want <= sizeof clean;
        for (size_t k = 1; ok && k < want; k++)
            ok = ((unsigned char)src[i + k] & 0xc0) == 0x80;
        if (!ok) {
            clean[n++] = '?';
            i++;
            continue;
        }
        memcpy(clean + n, src + i, want);
        n += want;
        i += want;
    }
    return json_escape(dst, cap, clean, n);
}

static int append_time(char *buf, size_t cap, size_t *o, const struct timespec *ts)
{
    char t[40];
    fmt_time(ts, t);
    int w = snprintf(buf + *o, cap - *o, "\"%s\"", t);
    if (w < 0 || (size_t)w >= cap - *o)
        return -1;
    *o += (size_t)w;
    return 0;
}

/* {"Status":"healthy","FailingStreak":0,"Log":[{"Start":"…","End":"…","ExitCode":0,"Output":"…"}]}, oldest first */
static void write_status(void)
{
    static char buf[HEALTH_LOG_MAX * (HEALTH_OUTPUT_MAX * 6 + 256) + 256];
    size_t o = 0, cap = sizeof buf;
    o += (size_t)snprintf(buf, cap, "{\"Status\":\"%s\",\"FailingStreak\":%d,\"Log\":[", status, failing_streak);
    for (int i = 0; i < result_count; i++) {
        const struct health_result *r = &results[(result_next - result_count + i + HEALTH_LOG_MAX) % HEALTH_LOG_MAX];
        o += (size_t)snprintf(buf + o, cap - o, "%s{\"Start\":", i ? "," : "");
        if (append_time(buf, cap, &o, &r->start) < 0)
            return;
        o += (size_t)snprintf(buf + o, cap - o, ",\"End\":");
        if (append_time(buf, cap, &o, &r->end) < 0)
            return;
        o += (size_t)snprintf(buf + o, cap - o, ",\"ExitCode\":%d,\"Output\":\"", r->exit_code);
        o += json_utf8(buf + o, cap - o - 8, r->output, r->output_len);
        o += (size_t)snprintf(buf + o, cap - o, "\"}");
    }
    o += (size_t)snprintf(buf + o, cap - o, "]}\n");
    if (o >= cap)
        return;

    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", opts->health_status);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    bool ok = write_all(fd, buf, o) == 0;
    if (close(fd) < 0)
        ok = false;
    if (!ok || rename(tmp, opts->health_status) < 0)
        unlink(tmp);
}

/* One line as the engine's EventLog writes it: {"time","type","action","id","name","attributes"}; one write(2). */
static void append_event(void)
{
    if (!opts->events_file)
        return;
    char t[40], name[512], image[1024], id[256], line[2048];
    fmt_time_now(t);
    json_escape(name, sizeof name, opts->event_name ? opts->event_name : "", strlen(opts->event_name ? opts->event_name : ""));
    json_escape(image, sizeof image, opts->event_image ? opts->event_image : "", strlen(opts->event_image ? opts->event_image : ""));
    json_escape(id, sizeof id, opts->id, strlen(opts->id));
    int n = snprintf(line, sizeof line,
                     "{\"time\":\"%s\",\"type\":\"container\",\"action\":\"health_status: %s\",\"id\":\"%s\",\"name\":\"%s\","
                     "\"attributes\":{\"image\":\"%s\",\"name\":\"%s\"}}\n",
                     t, status, id, name, image, name);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    int fd = open(opts->events_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    write_all(fd, line, (size_t)n);
    close(fd);
}

static void set_status(const char *s)
{
    bool changed = strcmp(s, status) != 0;
    status = s;
    write_status();
    if (changed)
        append_event();
}

static void drain_output(void)
{
    char scratch[4096];
    while (out_fd >= 0) {
        size_t room = HEALTH_OUTPUT_MAX - current.output_len;
        char *dst = room ? current.output + current.output_len : scratch;
        ssize_t n = read(out_fd, dst, room ? room : sizeof scratch);
        if (n > 0) {
            if (room)
                current.output_len += (size_t)n; /* beyond 4096 bytes the rest is read and dropped */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || errno != EAGAIN) {
            close(out_fd);
            out_fd = -1;
        }
        return;
    }
}

/* A probe ended (exit status known, or timed out): record it, move the status, and arm the next one. */
static void finish_probe(int exit_code)
{
    drain_output();
    if (out_fd >= 0) {
        close(out_fd);
        out_fd = -1;
    }
    clock_gettime(CLOCK_REALTIME, &current.end);
    current.exit_code = exit_code;
    results[result_next] = current;
    result_next = (result_next + 1) % HEALTH_LOG_MAX;
    if (result_count < HEALTH_LOG_MAX)
        result_count++;
    probe_pid = -1;

    if (exit_code == 0) {
        failing_streak = 0;
        set_status("healthy");
    } else if (strcmp(status, "starting") == 0 && in_start_period()) {
        write_status(); /* a failure in the start period does not count */
    } else {
        failing_streak++;
        set_status(failing_streak >= opts->health_retries ? "unhealthy" : status);
    }
    arm(next_interval());
}

/* posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK)) rather than fork: the monitor's page tables are not copied for
 * a child that only execs (the monitor's own CPU per probe went from ~1.9 to ~1.1 ms). */
static void start_probe(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        arm(next_interval());
        return;
    }
    memset(&current, 0, sizeof current);
    clock_gettime(CLOCK_REALTIME, &current.start);
    const char *argv[8];
    int n = 0;
    argv[n++] = opts->runtime;
    if (opts->runtime_root) {
        argv[n++] = "--root";
        argv[n++] = opts->runtime_root;
    }
    argv[n++] = "exec";
    argv[n++] = "--process";
    argv[n++] = opts->health_process;
    argv[n++] = opts->id;
    argv[n] = NULL;

    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    pid_t pid = -1;
    int err = posix_spawnattr_init(&attr);
    if (!err) {
        /* its own process group (the runtime and the process it starts are killed together), a clean signal state */
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        err = posix_spawn_file_actions_init(&fa);
        if (!err) {
            err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
            if (!err)
                err = posix_spawn_file_actions_adddup2(&fa, p[1], 1);
            if (!err)
                err = posix_spawn_file_actions_adddup2(&fa, p[1], 2);
            if (!err)
                err = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, environ);
            posix_spawn_file_actions_destroy(&fa);
        }
        posix_spawnattr_destroy(&attr);
    }
    close(p[1]);
    if (err) {
        close(p[0]);
        current.output_len = (size_t)snprintf(current.output, sizeof current.output, "psc-monitor: cannot run %s: %s",
                                              opts->runtime, strerror(err));
        finish_probe(-1);
        return;
    }
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    out_fd = p[0];
    probe_pid = pid;
    arm(opts->health_timeout_ms);
}

static void kill_probe(void)
{
    if (probe_pid > 0)
        kill(-probe_pid, SIGKILL);
}

int health_start(const struct options *o)
{
    if (!o->health_process)
        return 0;
    opts = o;
    timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (timer_fd < 0)
        return -1;
    started_ms = mono_ms();
    active = true;
    unlink(o->health_status); /* a new run starts again from "starting", as docker's */
    write_status();
    return arm(next_interval());
}

void health_pollfds(struct pollfd *fds)
{
    fds[0] = (struct pollfd){.fd = active ? timer_fd : -1, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = active ? out_fd : -1, .events = POLLIN};
}

void health_handle(const struct pollfd *fds, bool container_done)
{
    if (!active)
        return;
    if (reaped_pending) {
        reaped_pending = false;
        /* a probe reaped with the container was killed by its exit (the pid namespace ends): that is no result */
        if (!container_done)
            finish_probe(WIFEXITED(reaped_status) ? WEXITSTATUS(reaped_status) : 128 + WTERMSIG(reaped_status));
        else
            probe_pid = -1;
    }
    if (fds[1].revents)
        drain_output();
    if (fds[0].revents) {
        uint64_t expirations;
        if (read(timer_fd, &expirations, sizeof expirations) < 0 && errno == EAGAIN)
            return;
        if (probe_pid > 0) {
            /* docker: a probe past its timeout is a failure (exit code -1) and is killed */
            kill_probe();
            pid_t pid = probe_pid;
            drain_output();
            current.output_len = (size_t)snprintf(current.output, sizeof current.output,
                                                  "Health check exceeded timeout (%lldms)", opts->health_timeout_ms);
            finish_probe(-1);
            probe_pid = -pid; /* killed, not yet reaped: health_reaped forgets it */
        } else {
            start_probe();
        }
    }
}

void health_reaped(pid_t pid, int wstatus)
{
    if (!active || pid <= 0)
        return;
    if (probe_pid < 0 && pid == -probe_pid) {
        probe_pid = -1;
        return;
    }
    if (pid != probe_pid)
        return;
    reaped_pending = true;
    reaped_status = wstatus;
}

void health_stop(void)
{
    if (!active)
        return;
    active = false;
    if (probe_pid != -1 && !reaped_pending) {
        pid_t pid = probe_pid > 0 ? probe_pid : -probe_pid;
        kill(-pid, SIGKILL);
        /* bounded: SIGKILL ends it at once unless it sleeps in the kernel; then init reaps it after we leave */
        for (int i = 0; i < 100 && waitpid(pid, NULL, WNOHANG) == 0; i++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        probe_pid = -1;
    }
    if (out_fd >= 0)
        close(out_fd);
    out_fd = -1;
    close(timer_fd);
    timer_fd = -1;
}

/* --health-* options; returns 1 when c is one of them, -1 for a bad value, 0 otherwise. */
int health_option(int c, const char *arg, struct options *o)
{
    long long *ms = NULL;
    switch (c) {
    case OPT_HEALTH_PROCESS: o->health_process = absolute_path(arg); return o->health_process ? 1 : -1;
    case OPT_HEALTH_STATUS: o->health_status = absolute_path(arg); return o->health_status ? 1 : -1;
    case OPT_EVENTS_FILE: o->events_file = absolute_path(arg); return o->events_file ? 1 : -1;
    case OPT_EVENT_NAME: o->event_name = strdup(arg); return 1;
    case OPT_EVENT_IMAGE: o->event_image = strdup(arg); return 1;
    case OPT_HEALTH_INTERVAL: ms = &o->health_interval_ms; break;
    case OPT_HEALTH_TIMEOUT: ms = &o->health_timeout_ms; break;
    case OPT_HEALTH_START_PERIOD: ms = &o->health_start_period_ms; break;
    case OPT_HEALTH_START_INTERVAL: ms = &o->health_start_interval_ms; break;
    case OPT_HEALTH_RETRIES: break;
    default: return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    bool zero_ok = c == OPT_HEALTH_START_PERIOD || c == OPT_HEALTH_START_INTERVAL;
    if (errno || *end || !*arg || v < (zero_ok ? 0 : 1) || v > (ms ? 24LL * 3600 * 1000 * 365 : 1000000)) {
        fprintf(stderr, "psc-monitor: %s: not a valid health option value\n", arg);
        return -1;
    }
    if (ms)
        *ms = v;
    else
        o->health_retries = (int)v;
    return 1;
}

/* After parsing: a healthcheck needs its status file and every timing (the engine passes docker's defaults). */
int health_check_options(const struct options *o)
{
    if (!o->health_process)
        return 0;
    if (!o->health_status || o->health_interval_ms < 1 || o->health_timeout_ms < 1 || o->health_retries < 1) {
        fprintf(stderr, "psc-monitor: --health-process needs --health-status, --health-interval-ms, --health-timeout-ms "
                        "and --health-retries\n");
        return -1;
    }
    return 0;
}
