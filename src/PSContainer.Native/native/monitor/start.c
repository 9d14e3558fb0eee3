/* --start: the monitor runs `runtime start ID` itself as soon as create has succeeded, before it reports to the
 * engine, which then has no runtime process of its own to spawn (a fork of a large .NET process and an execve) and
 * no second round trip: the report says the container runs. The monitor's loop goes on while start runs (the
 * container may write or exit meanwhile, a poststart hook may wait for it), and reaps start like create. The
 * runtime's error text comes from its json log: its stdout and stderr are /dev/null. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t runtime_start_spawn(const struct options *o, char *log, char *msg, size_t cap)
{
    runtime_log_make(o->exit_file, log);
    const char *args[] = {"start", o->id, NULL};
    pid_t pid = spawn_runtime(o, args, log[0] ? log : NULL, -1, -1, -1);
    if (pid < 0) {
        snprintf(msg, cap, "psc-monitor: fork for %s start: %s", o->runtime, strerror(errno));
        if (log[0])
            unlink(log);
        log[0] = 0;
    }
    return pid;
}

int runtime_start_result(const struct options *o, int wstatus, char *log, char *msg, size_t cap)
{
    int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    if (code != 0 && !(log[0] && runtime_error_from_log(log, msg, cap)))
        snprintf(msg, cap, "%s start failed with exit code %d", o->runtime, code);
    if (log[0])
        unlink(log);
    log[0] = 0;
    return code;
}
