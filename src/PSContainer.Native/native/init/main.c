/* psc-init: the process -Init runs as a container's pid 1 (docker run --init runs tini there).
 *
 * A program written to be an ordinary process misbehaves as pid 1: the kernel delivers it no signal it has not set a
 * handler for (so SIGTERM from Stop-Container is ignored), and orphaned children are reparented to it and never
 * reaped. psc-init starts the command as its child, forwards every signal it gets to it, reaps every child, and
 * exits with the command's status (128 + the signal number if a signal ended it), as tini does.
 *
 * Usage: psc-init [--] COMMAND [ARG...]. Linked statically: it runs in images that have no C library. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
    fprintf(stderr, "psc-init: %s: %s\n", what, strerror(errno));
    return 1;
}

int main(int argc, char **argv)
{
    int first = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1;
    if (first >= argc) {
        fprintf(stderr, "psc-init: no command given (usage: psc-init [--] COMMAND [ARG...])\n");
        return 2;
    }
    /* Every signal waits in the queue until the loop takes it, so none is lost between fork and the loop. */
    sigset_t all, previous;
    if (sigfillset(&all) < 0 || sigprocmask(SIG_BLOCK, &all, &previous) < 0)
        return fail("block signals");

    pid_t child = fork();
    if (child < 0)
        return fail("fork");
    if (child == 0) {
        /* Its own process group, in the terminal's foreground when there is one (as tini): a Ctrl+C from the
         * terminal reaches the command once, not once directly and again forwarded by us. SIGTTOU is still
         * blocked here, so tcsetpgrp from what is now a background group is not stopped. */
        if (setpgid(0, 0) < 0)
            _exit(fail("setpgid"));
        if (isatty(STDIN_FILENO) && tcsetpgrp(STDIN_FILENO, getpid()) < 0)
            _exit(fail("tcsetpgrp"));
        if (sigprocmask(SIG_SETMASK, &previous, NULL) < 0)
            _exit(fail("unblock signals"));
        execvp(argv[first], argv + first);
        int e = errno;
        fprintf(stderr, "psc-init: exec %s: %s\n", argv[first], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }

    for (;;) {
        siginfo_t info;
        struct timespec tick = {1, 0};
        int sig = sigtimedwait(&all, &info, &tick);
        if (sig < 0 && errno != EAGAIN && errno != EINTR)
            return fail("sigtimedwait");
        if (sig > 0 && sig != SIGCHLD && kill(child, sig) < 0 && errno != ESRCH)
            return fail("forward a signal");
        /* Reap whatever has ended: the command, and orphans reparented to us. */
        for (;;) {
            int status;
            pid_t ended = waitpid(-1, &status, WNOHANG);
            if (ended < 0 && errno == ECHILD)
                break;
            if (ended < 0)
                return fail("waitpid");
            if (ended == 0)
                break;
            if (ended == child)
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
}
