/* --start: the monitor runs `runtime start ID` itself as soon as create has succeeded, before it reports to the
 * engine, which then has no runtime process of its own to spawn (a fork of a large .NET process and an execve) and
 * no second round trip: the report says the container runs. The runtime's own error text comes from its json log, as
 * for create, since its stderr is the container's. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int runtime_start_now(const struct options *o, char *msg, size_t cap)
{
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s.runtime-log.XXXXXX", o->exit_file);
    int tfd = mkostemp(log, O_CLOEXEC);
    if (tfd >= 0)
        close(tfd);
    const char *args[] = {"start", o->id, NULL};
    pid_t pid = spawn_runtime(o, args, tfd >= 0 ? log : NULL, -1, -1, -1);
    int st = 0;
    if (pid < 0) {
        snprintf(msg, cap, "psc-monitor: fork for %s start: %s", o->runtime, strerror(errno));
        st = -1;
    } else {
        /* only this child: the container's own exit stays queued for the loop's reaping */
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR) {
                st = -1;
                break;
            }
    }
    int code = st < 0 ? 1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (pid >= 0 && code != 0 && !(tfd >= 0 && runtime_error_from_log(log, msg, cap)))
        snprintf(msg, cap, "%s start failed with exit code %d", o->runtime, code);
    if (tfd >= 0)
        unlink(log);
    return code;
}
