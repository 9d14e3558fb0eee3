/* Detaching: double fork + setsid, child subreaper, process name, only the sync fd kept open. */
#include "monitor.h"
#include "syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Returns 0 in the detached grandchild. The original process exits 0 at once, so the engine's process
 * handle ends; the middle child (session leader) exits too, so the monitor can never reacquire a terminal. */
int daemonize(void)
{
    pid_t p = fork();
    if (p < 0)
        return -1;
    if (p > 0) {
        /* reap the middle child (it exits right after its fork) so no zombie is left to an init that may
         * not reap; then leave at once */
        int st;
        while (waitpid(p, &st, 0) < 0 && errno == EINTR)
            ;
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
    }
    if (setsid() < 0)
        _exit(1);
    p = fork();
    if (p < 0)
        return -1;
    if (p > 0)
        _exit(0);
    /* Orphans of the container (its init, once `runtime create` exits) re-parent to us. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    if (chdir("/") < 0) { /* "/" always exists; nothing useful to do otherwise */ }
    umask(022);
    return 0;
}

static void close_from(unsigned lo, unsigned hi)
{
    if (lo > hi)
        return;
    if (syscall(SYS_close_range, lo, hi, 0) == 0)
        return;
    for (unsigned fd = lo; fd <= hi && fd < 65536; fd++)
        close((int)fd);
}

/* stdin/stdout/stderr become /dev/null, every other descriptor but `fd` is closed; returns the (possibly
 * moved) fd, close-on-exec so the runtime and the container never inherit it. */
int keep_only_fd(int fd)
{
    if (fd >= 0 && fd <= 2) {
        int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        fd = moved; /* -1 if that failed: then there is no sync fd */
    }
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        for (int i = 0; i <= 2; i++)
            if (null != i)
                dup2(null, i);
        if (null > 2 && null != fd)
            close(null);
    }
    if (fd >= 0) {
        close_from(3, (unsigned)fd - 1);
        close_from((unsigned)fd + 1, ~0U);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    } else {
        close_from(3, ~0U);
    }
    return fd;
}

/* "psc-<first 12 of id>" as the command line (ps -o args, pgrep -f) and as the comm (ps -o comm, top), which
 * the kernel limits to 15 characters: there it reads "psc-<first 11 of id>". */
void set_process_name(const char *id, int argc, char **argv)
{
    char name[17];
    snprintf(name, sizeof name, "psc-%.12s", id);
    prctl(PR_SET_NAME, name, 0, 0, 0);
    if (argc < 1 || !argv[0])
        return;
    /* argv strings are contiguous; getopt may have reordered the pointers, so take the extremes */
    char *start = argv[0], *end = argv[0];
    for (int i = 0; i < argc; i++) {
        if (!argv[i])
            continue;
        if (argv[i] < start)
            start = argv[i];
        char *e = argv[i] + strlen(argv[i]) + 1;
        if (e > end)
            end = e;
    }
    size_t area = (size_t)(end - start);
    size_t n = strlen(name) + 1;
    if (n > area)
        return;
    memset(start, 0, area);
    memcpy(start, name, n);
    /* Shrink the visible command line to just the name (needs CAP_SYS_RESOURCE; harmless if refused). */
    prctl(PR_SET_MM, PR_SET_MM_ARG_END, (unsigned long)(start + n), 0, 0);
}
