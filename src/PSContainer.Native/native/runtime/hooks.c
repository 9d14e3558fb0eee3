/* OCI hooks (runtime-spec 1.1 config.md#posix-platform-hooks): each hook is {path, args, env, timeout}; it gets
 * the container's state JSON on stdin. Its stdout and stderr are collected and quoted in the error when it fails.
 * The caller decides whether a failure is fatal (prestart, createRuntime, createContainer, startContainer) or a
 * warning (poststart, poststop). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_one(json_object *hook, const char *kind, size_t index, const char *state)
{
    json_object *v;
    const char *path = json_object_object_get_ex(hook, "path", &v) ? json_object_get_string(v) : NULL;
    if (!path || path[0] != '/')
        return err_msg(1, "%s hook %zu: path must be absolute", kind, index);
    json_object *jargs = json_object_object_get_ex(hook, "args", &v) ? v : NULL;
    json_object *jenv = json_object_object_get_ex(hook, "env", &v) ? v : NULL;
    long long timeout = json_object_object_get_ex(hook, "timeout", &v) ? json_object_get_int64(v) : 0;
    if (json_object_object_get_ex(hook, "timeout", &v) && timeout <= 0)
        return err_msg(1, "%s hook %s: timeout must be greater than zero", kind, path);

    size_t na = jargs ? json_object_array_length(jargs) : 0, ne = jenv ? json_object_array_length(jenv) : 0;
    char **argv = calloc(na + 2, sizeof *argv), **envp = calloc(ne + 1, sizeof *envp);
    if (!argv || !envp)
        abort();
    for (size_t i = 0; i < na; i++)
        argv[i] = (char *)json_object_get_string(json_object_array_get_idx(jargs, i));
    if (na == 0)
        argv[0] = (char *)path;
    for (size_t i = 0; i < ne; i++)
        envp[i] = (char *)json_object_get_string(json_object_array_get_idx(jenv, i));

    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return err_sys("pipe");
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return err_sys("pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        err_sys("fork %s hook", kind);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        signal(SIGPIPE, SIG_DFL);
        execve(path, argv, envp);
        dprintf(2, "exec %s: %s", path, strerror(errno));
        _exit(127);
    }
    free(argv);
    free(envp);
    close(in[0]);
    close(out[1]);
    /* the state is small (far below a pipe's buffer) and the hook may not read it at all */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    write_all(in[1], state, strlen(state));
    close(in[1]);
    signal(SIGPIPE, old);

    char buf[2048];
    size_t got = 0;
    long long deadline = timeout > 0 ? now_ms() + timeout * 1000 : -1;
    bool timed_out = false, eof = false;
    int status = 0;
    for (;;) {
        if (!eof) {
            struct pollfd p = {out[0], POLLIN, 0};
            int wait = deadline < 0 ? 100 : (int)(deadline - now_ms() < 100 ? deadline - now_ms() : 100);
            if (poll(&p, 1, wait < 0 ? 0 : wait) > 0) {
                char tmp[512];
                ssize_t n = read(out[0], tmp, sizeof tmp);
                if (n <= 0)
                    eof = true;
                else if (got < sizeof buf - 1) {
                    size_t take = (size_t)n < sizeof buf - 1 - got ? (size_t)n : sizeof buf - 1 - got;
                    memcpy(buf + got, tmp, take);
                    got += take;
                }
            }
        } else {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (deadline >= 0 && now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            timed_out = true;
            break;
        }
    }
    close(out[0]);
    buf[got] = 0;
    while (got && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
        buf[--got] = 0;
    if (timed_out)
        return err_msg(1, "%s hook %s: timed out after %llds", kind, path, timeout);
    if (WIFSIGNALED(status))
        return err_msg(1, "%s hook %s: killed by signal %d%s%s", kind, path, WTERMSIG(status), got ? ": " : "", buf);
    if (WEXITSTATUS(status) != 0)
        return err_msg(1, "%s hook %s: exit status %d%s%s", kind, path, WEXITSTATUS(status), got ? ": " : "", buf);
    return 0;
}

int hooks_run(json_object *hooks, const char *kind, const char *state)
{
    json_object *list;
    if (!hooks || !json_object_object_get_ex(hooks, kind, &list) || !json_object_is_type(list, json_type_array))
        return 0;
    size_t n = json_object_array_length(list);
    for (size_t i = 0; i < n; i++)
        if (run_one(json_object_array_get_idx(list, i), kind, i, state) < 0)
            return -1;
    return 0;
}
