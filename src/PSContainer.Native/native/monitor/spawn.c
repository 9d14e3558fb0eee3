/* Running the OCI runtime through its command line: RUNTIME [--root R] [--log F --log-format json] CMD... */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 32

static int sealed_runtime_fd = -1;

void spawn_use_sealed_runtime(int fd)
{
    if (sealed_runtime_fd >= 0 && sealed_runtime_fd != fd)
        close(sealed_runtime_fd);
    sealed_runtime_fd = fd;
}

/* Starts the runtime with stdin = in_fd (/dev/null when -1) and stdout/stderr = out_fd/err_fd
 * (or /dev/null when -1). Every other descriptor of ours is close-on-exec. Returns the pid or -1. */
pid_t spawn_runtime(const struct options *o, const char *const *cmd_args, const char *log_file,
                    int in_fd, int out_fd, int err_fd)
{
    const char *argv[MAX_ARGS];
    int n = 0;
    argv[n++] = o->runtime;
    if (o->runtime_root) {
        argv[n++] = "--root";
        argv[n++] = o->runtime_root;
    }
    if (log_file) {
        argv[n++] = "--log";
        argv[n++] = log_file;
        argv[n++] = "--log-format";
        argv[n++] = "json";
    }
    for (int i = 0; cmd_args[i] && n < MAX_ARGS - 1; i++)
        argv[n++] = cmd_args[i];
    argv[n] = NULL;

    pid_t monitor = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    signals_reset_in_child();
    /* The runtime command dies with the monitor: one killed (the engine's KillMonitorOf, a kill -9) must not leave
     * a create or a delete going on alone beside the engine's own clean-up of the same container. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != monitor)
        _exit(125);
    int null = open("/dev/null", O_RDWR);
    if (in_fd < 0)
        in_fd = null;
    if (out_fd < 0)
        out_fd = null;
    if (err_fd < 0)
        err_fd = null;
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    if (null > 2) /* its copies are the stdio: the runtime (and a container it forgets to sweep) gets no fourth fd */
        close(null);
    if (sealed_runtime_fd >= 0) { /* close-on-exec, which an ELF binary allows: the container never holds it */
        extern char **environ;
        fexecve(sealed_runtime_fd, (char *const *)argv, environ);
    } else {
        execvp(argv[0], (char *const *)argv);
    }
    int e = errno;
    char msg[512];
    int len = snprintf(msg, sizeof msg, "psc-monitor: exec %s: %s\n", argv[0], strerror(e));
    if (len > 0)
        write_all(2, msg, (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1);
    _exit(e == ENOENT ? 127 : 126);
}

/* Runs the runtime with its output discarded and waits for it; returns its exit status or -1. */
int run_runtime_wait(const struct options *o, const char *const *cmd_args)
{
    pid_t pid = spawn_runtime(o, cmd_args, NULL, -1, -1, -1);
    if (pid < 0)
        return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
