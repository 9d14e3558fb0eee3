/* psc-monitor: the per-container monitor (conmon's role). See ../README.md, section "psc-monitor". */
#ifndef PSC_MONITOR_H
#define PSC_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* exitCode reported on the sync fd when the monitor itself (not the runtime) fails, as docker's 125. */
#define MON_SELF_FAILURE 125
/* exitCode reported when create succeeded but --start's `runtime start` did not (the container is deleted again) */
#define MON_START_FAILURE 124
/* the longest text of one CRI log record; longer lines become P records then F */
#define LOG_RECORD_MAX 16384
/* how long to keep draining the container's pipes after it exited */
#define DRAIN_TIMEOUT_MS 2000

/* exitcmd.c: the exit command (conmon's --exit-command), run detached once the exit file is written */
enum { OPT_EXIT_COMMAND = 0x1000, OPT_EXIT_COMMAND_ARG, OPT_EXIT_COMMAND_WATCH };
struct exit_command {
    const char *path;   /* NULL: none */
    char **args;        /* its arguments after argv[0] */
    int nargs;
    const char *watch;  /* skipped while a live process holds a lock on this file; may be NULL */
};

struct options {
    const char *runtime;      /* path or name (searched in PATH) of the OCI runtime */
    const char *runtime_root; /* --root for the runtime, may be NULL */
    const char *id;
    const char *bundle;
    const char *log_path;
    const char *exit_file;
    const char *pid_file;
    const char *cgroup_path;  /* may be NULL: then read from /proc/PID/cgroup */
    int sync_fd;              /* -1 when none */
    long long log_max_size;   /* rotate the log once it reaches this many bytes; 0: never */
    int log_max_files;        /* files kept, the current one included (docker's max-file); at least 1 */
    /* healthcheck (health.c); health_process NULL: none */
    const char *health_process, *health_status, *events_file, *event_name, *event_image;
    long long health_interval_ms, health_timeout_ms, health_start_period_ms, health_start_interval_ms;
    int health_retries;
    struct exit_command exit_cmd;
    bool tty;                 /* --tty: the container's process has a terminal (console.c) */
    const char *attach_socket; /* --attach-socket: where clients attach to that terminal (or to the stdin pipe) */
    bool open_stdin;          /* --stdin: no terminal, but a stdin pipe held open for attaching clients (stdin.c) */
    bool stdin_once;          /* --stdin-once: the first attached client's end of input closes it */
    bool start;               /* --start: run `runtime start` right after create, before reporting (start.c) */
    bool sealed_runtime;      /* --sealed-runtime: run the runtime from a sealed copy made at our start (sealed.c) */
};
int exit_command_option(struct options *o, int opt, const char *arg);
void exit_command_run(const struct options *o);
/* exitcmd.c: `runtime delete --force ID` once the container has exited (bounded); true when it succeeded */
bool runtime_delete_after_exit(const struct options *o);

/* args.c */
int parse_args(int argc, char **argv, struct options *o);

/* daemon.c */
int daemonize(void);
int keep_only_fd(int fd);
void set_process_name(const char *id, int argc, char **argv);

/* util.c */
size_t fmt_time(const struct timespec *ts, char out[40]);
size_t fmt_time_now(char out[40]);
#include "io.h" /* write_all */
size_t json_escape(char *dst, size_t cap, const char *src, size_t len);
ssize_t read_small_file(const char *path, char *buf, size_t cap);
char *absolute_path(const char *p);

/* signals.c */
int signals_setup(void);
void signals_reset_in_child(void);
/* The engine's request to signal the container without a `runtime kill` process (Stop-Container): this realtime
 * signal (SIGRTMIN+4 with glibc), queued to the monitor (pidfd_send_signal/sigqueue, SI_QUEUE) with the number of
 * the signal to send as its value, SIGKILL included. The monitor is the container process's parent and signals it
 * only until it has reaped it, so the pid it signals can never be a recycled one. Blocked (and so visible in
 * /proc/PID/status SigBlk) only by a monitor that honours it. */
#define MON_RELAY_SIGNAL 38
int signals_read(int sfd, int *got_chld, unsigned *forward_mask, unsigned long long *relay_mask);

/* logwriter.c */
struct logstream {
    int fd;              /* read end of the pipe; -1 after EOF */
    const char *name;    /* "stdout" / "stderr" */
    bool partial;        /* the last record written was P */
    bool quiet;          /* read but do not log (the runtime's own output while `create` runs) */
    char *capture;       /* when set, a copy of what arrives is kept here (runtime error text) */
    size_t capture_len, capture_cap;
    void (*tee)(const char *data, size_t len); /* also given everything read (the terminal's attach clients) */
};
void log_set_output(int fd, const char *path, long long max_size, int max_files);
bool log_pump(struct logstream *s);   /* false once the stream reached EOF (and was closed) */
void log_close(struct logstream *s);

/* spawn.c */
pid_t spawn_runtime(const struct options *o, const char *const *cmd_args, const char *log_file,
                    int in_fd, int out_fd, int err_fd);
int run_runtime_wait(const struct options *o, const char *const *cmd_args);
void spawn_use_sealed_runtime(int fd); /* runtimes spawned from now on are this sealed copy (fexecve) */


/* start.c: `runtime start ID` once create succeeded, spawned with its --log in LOG (PATH_MAX; "" when none could be
 * made): its pid, or -1 with the reason in msg; then runtime_start_result() for its wait status: 0, or its exit code
 * with its error text in msg (the log is removed) */
pid_t runtime_start_spawn(const struct options *o, char *log, char *msg, size_t cap);
int runtime_start_result(const struct options *o, int wstatus, char *log, char *msg, size_t cap);

/* runtimelog.c */
size_t runtime_error_from_log(const char *log_file, char *out, size_t cap);
/* a new empty file for a runtime's --log beside the exit file (else in /tmp), its path in LOG (PATH_MAX); NULL (LOG
 * "") when none can be made */
const char *runtime_log_make(const char *exit_file, char *log);

/* oom.c */
void oom_setup(const char *cgroup_path, pid_t pid);
long oom_count(void);

/* exitfile.c */
int write_exit_file(const char *path, int wstatus, bool oom_killed, bool runtime_deleted, const struct timespec *finished);
void sync_report_ok(int fd, pid_t pid, pid_t monitor_pid, bool started);
void sync_report_fail(int fd, int exit_code, const char *msg);

/* memory.c */
void trim_resident(void);

/* health.c: probes run from the poll loop (HEALTH_NFDS pollfds), options with codes from OPT_HEALTH_PROCESS on */
enum { OPT_HEALTH_PROCESS = 0x100, OPT_HEALTH_STATUS, OPT_EVENTS_FILE, OPT_EVENT_NAME, OPT_EVENT_IMAGE,
       OPT_HEALTH_INTERVAL, OPT_HEALTH_TIMEOUT, OPT_HEALTH_START_PERIOD, OPT_HEALTH_START_INTERVAL, OPT_HEALTH_RETRIES };
#define HEALTH_LONGOPTS                                                                                           \
    {"health-process", required_argument, 0, OPT_HEALTH_PROCESS},                                                 \
    {"health-status", required_argument, 0, OPT_HEALTH_STATUS},                                                   \
    {"events-file", required_argument, 0, OPT_EVENTS_FILE},                                                       \
    {"event-name", required_argument, 0, OPT_EVENT_NAME},                                                         \
    {"event-image", required_argument, 0, OPT_EVENT_IMAGE},                                                       \
    {"health-interval-ms", required_argument, 0, OPT_HEALTH_INTERVAL},                                            \
    {"health-timeout-ms", required_argument, 0, OPT_HEALTH_TIMEOUT},                                              \
    {"health-start-period-ms", required_argument, 0, OPT_HEALTH_START_PERIOD},                                    \
    {"health-start-interval-ms", required_argument, 0, OPT_HEALTH_START_INTERVAL},                                \
    {"health-retries", required_argument, 0, OPT_HEALTH_RETRIES},
#define HEALTH_NFDS 2
struct pollfd;
int health_option(int c, const char *arg, struct options *o);
int health_check_options(const struct options *o);
int health_start(const struct options *o);
void health_pollfds(struct pollfd *fds); /* fills HEALTH_NFDS entries */
void health_handle(const struct pollfd *fds, bool container_done);
void health_reaped(pid_t pid, int wstatus);
void health_stop(void);
/* console.c: the container's terminal, held by the monitor, and its attach socket */
struct pollfd;
int console_prepare(const struct options *o);   /* before create: the console socket (--tty only) */
const char *console_socket_path(void);          /* for create --console-socket; NULL without --tty */
int console_receive(const struct options *o);   /* after create: take the pty master, open the attach socket */
int console_pollfds(struct pollfd *fds, int max);
void console_handle(const struct pollfd *fds, int n);
void console_drain(void);                       /* the container exited: log what its terminal still holds */
void console_close(void);                       /* clients, master and sockets closed and removed */
int bind_in_dir(int fd, const char *path);      /* bind a unix socket through /proc/self/fd of its directory */

/* stdin.c: the container's stdin pipe without a terminal (--stdin), and its attach socket */
int stdin_prepare(const struct options *o);     /* before create: the pipe */
int stdin_child_fd(void);                       /* its read end for create's fd 0; -1: none (/dev/null) */
int stdin_listen(const struct options *o);      /* after create: our read end closed, the attach socket opened */
int stdin_pollfds(struct pollfd *fds, int max);
void stdin_handle(const struct pollfd *fds, int n);
void stdin_close(void);                         /* clients and the pipe closed, the socket removed */

/* loop.c */
int monitor_run(const struct options *o);

#endif
