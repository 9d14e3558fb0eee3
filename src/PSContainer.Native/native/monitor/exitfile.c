/* The exit file (written atomically: tmp + rename) and the JSON line on the sync fd. */
#include "monitor.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* {"exitCode":N,"signal":S,"oomKilled":b,"finishedAt":"...","runtimeDeleted":b}; exitCode is 128+S for a signal,
 * as docker; finishedAt: when the container was reaped (FINISHED), not when the file is written, which comes after
 * the runtime's delete (poststop hooks included); runtimeDeleted: the monitor's `runtime delete` succeeded (runtime
 * state and cgroup are gone). */
int write_exit_file(const char *path, int wstatus, bool oom_killed, bool runtime_deleted, const struct timespec *finished)
{
    int code = 0, sig = 0;
    if (WIFEXITED(wstatus))
        code = WEXITSTATUS(wstatus);
    else if (WIFSIGNALED(wstatus)) {
        sig = WTERMSIG(wstatus);
        code = 128 + sig;
    }
    char ts[40], body[256], tmp[PATH_MAX];
    fmt_time(finished, ts);
    int len = snprintf(body, sizeof body,
                       "{\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s,\"finishedAt\":\"%s\",\"runtimeDeleted\":%s}\n", code, sig,
                       oom_killed ? "true" : "false", ts, runtime_deleted ? "true" : "false");
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    /* No fsync of the file or its directory: the exit file lives in the run root, which is not meant to outlive a
     * boot (tmpfs at /run), and readers are processes that see the page cache; the rename keeps it whole. */
    if (write_all(fd, body, (size_t)len) < 0) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

void sync_report_ok(int fd, pid_t pid, pid_t monitor_pid, bool started)
{
    if (fd < 0)
        return;
    char line[128];
    int len = snprintf(line, sizeof line, "{\"ok\":true,\"pid\":%d,\"monitorPid\":%d,\"started\":%s}\n", (int)pid,
                       (int)monitor_pid, started ? "true" : "false");
    write_all(fd, line, (size_t)len);
}

void sync_report_fail(int fd, int exit_code, const char *msg)
{
    if (fd < 0)
        return;
    char esc[4096], line[4200];
    size_t mlen = strlen(msg);
    while (mlen > 0 && (msg[mlen - 1] == '\n' || msg[mlen - 1] == ' ' || msg[mlen - 1] == '\r'))
        mlen--;
    json_escape(esc, sizeof esc, msg, mlen);
    int len = snprintf(line, sizeof line, "{\"ok\":false,\"exitCode\":%d,\"message\":\"%s\"}\n", exit_code, esc);
    if (len > (int)sizeof line - 1)
        len = (int)sizeof line - 1;
    write_all(fd, line, (size_t)len);
}
