/* What the monitor does once the container has exited, besides the exit file: the runtime's delete before it, and the
 * exit command after it.
 *
 * The exit command (conmon's --exit-command): once the exit file is written, the monitor starts a program that does
 * what must happen at exit when no session is there to do it (record the exit, clean up, AutoRemove, restart policy).
 * It runs detached: its own session, no descriptor of ours, default signals, and nobody waits for it. With
 * --exit-command-watch FILE it is skipped while a session holds a lock on FILE: that session records the exit. */
#include "monitor.h"
#include "syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int exit_command_option(struct options *o, int opt, const char *arg)
{
    struct exit_command *x = &o->exit_cmd;
    switch (opt) {
    case OPT_EXIT_COMMAND:
    case OPT_EXIT_COMMAND_WATCH: {
        /* absolute: the monitor works from "/" once detached */
        char *p = absolute_path(arg);
        if (!p) {
            fprintf(stderr, "psc-monitor: %s: cannot make the path absolute\n", arg);
            return -1;
        }
        if (opt == OPT_EXIT_COMMAND)
            x->path = p;
        else
            x->watch = p;
        return 0;
    }
    case OPT_EXIT_COMMAND_ARG: {
        /* copied: set_process_name() overwrites the original argv strings */
        char **grown = realloc(x->args, sizeof *grown * (size_t)(x->nargs + 1));
        char *copy = strdup(arg);
        if (!grown || !copy) {
            free(copy);
            if (grown)
                x->args = grown;
            fprintf(stderr, "psc-monitor: --exit-command-arg: out of memory\n");
            return -1;
        }
        x->args = grown;
        x->args[x->nargs++] = copy;
        return 0;
    }
    default:
        return -1;
    }
}

/* Whether a live process holds a lock on the watch file (the kernel drops a dead one's). */
static bool watched(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false; /* no watcher ever took it */
    bool held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd); /* drops our lock, if we got it */
    return held;
}

void exit_command_run(const struct options *o)
{
    const struct exit_command *x = &o->exit_cmd;
    if (!x->path)
        return;
    if (x->watch && watched(x->watch))
        return;
    char **argv = calloc((size_t)x->nargs + 2, sizeof *argv);
    if (!argv)
        return;
    argv[0] = (char *)x->path;
    for (int i = 0; i < x->nargs; i++)
        argv[i + 1] = x->args[i];
    pid_t p = fork();
    if (p == 0) {
        /* Its own session, so a signal to the monitor's group never reaches it; the monitor exits right after
         * this, and the command is re-parented to init, which reaps it. */
        if (setsid() < 0)
            _exit(126);
        signals_reset_in_child();
        if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
            for (int fd = 3; fd < 1024; fd++)
                close(fd);
        execv(argv[0], argv);
        _exit(127);
    }
    free(argv);
}

/* How long the runtime's delete may take (its poststop hooks included) before it is killed and the state is left to
 * the engine's clean-up: the engine gave its own `runtime delete` as long. */
#define DELETE_TIMEOUT_MS 60000

/* Waits for child pid up to timeout_ms through a pidfd (the kernel wakes us when it exits: no polling); without
 * pidfd_open (older kernels) the wait is unbounded, as a blocking waitpid. Returns its wait status or -1 on timeout. */
static int wait_child(pid_t pid, int timeout_ms)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        int n;
        while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
        }
        close(pfd);
        if (n == 0) {
            if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
                return -1; /* cannot happen for our own unreaped child; it stays a zombie until we exit */
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            }
            return -1;
        }
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return st;
}

bool runtime_delete_after_exit(const struct options *o)
{
    /* Not while `runtime start` may still be at the state: runc and psc-runtime remove exec.fifo from the container's
     * state directory once start has released the container, and a container that exits within start's last steps
     * (`true`, or one never started) would have its state deleted under start, which then fails. Those leave the
     * delete to the engine, which runs it after start has returned. Without a known root there is no telling. */
    if (!o->runtime_root)
        return false;
    char fifo[PATH_MAX];
    if (snprintf(fifo, sizeof fifo, "%s/%s/exec.fifo", o->runtime_root, o->id) >= (int)sizeof fifo)
        return false;
    if (access(fifo, F_OK) == 0 || errno != ENOENT)
        return false;
    /* --force as the engine's clean-up ran it: a process the container left (one that shares the host's pid
     * namespace outlives its init) is killed with the cgroup. */
    const char *args[] = {"delete", "--force", o->id, NULL};
    pid_t pid = spawn_runtime(o, args, NULL, -1, -1, -1);
    if (pid < 0)
        return false;
    int st = wait_child(pid, DELETE_TIMEOUT_MS);
    return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
