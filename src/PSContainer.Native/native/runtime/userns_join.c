/* A user namespace joined by path (spec: {"type":"user","path":...}). The namespaces the container makes must belong
 * to that user namespace, or its root could not use them: a mount namespace made by the host's root refuses the
 * container's mounts, a uts namespace its sethostname, a pid namespace the mount of its /proc. So, as runc's nsexec
 * does, they are made after the join: an intermediate process joins the user namespace, unshares the other new
 * namespaces, and clones the container process as the runtime's own child (CLONE_PARENT) into a new pid namespace;
 * it reports that pid (or why it failed) through a pipe and exits. The runtime process itself never joins, so it
 * keeps the host's privileges for the cgroup and the hooks. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime.h"

struct inter_ctx {
    const struct rt_ns *user;
    int flags; /* every CLONE_NEW* the container makes */
    int (*fn)(void *);
    void *arg;
    int report_fd;
};

struct inter_report {
    pid_t pid;
    struct rt_error err;
};

static int intermediate(void *arg)
{
    struct inter_ctx *ic = arg;
    struct inter_report rep = {-1, {0}};
    int fd = open(ic->user->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        err_sys("open user namespace %s", ic->user->path);
    else if (setns(fd, CLONE_NEWUSER) < 0)
        err_sys("setns user namespace %s", ic->user->path);
    else if (ns_mark_joined(CLONE_NEWUSER), unshare(ic->flags & ~(CSIGNAL | CLONE_NEWPID | CLONE_NEWUSER)) < 0)
        err_sys("unshare namespaces in the joined user namespace");
    else {
        size_t stack_size = 1 << 20;
        char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED)
            err_sys("mmap child stack");
        else if ((rep.pid = clone(ic->fn, stack + stack_size, CLONE_PARENT | (ic->flags & CLONE_NEWPID), ic->arg)) < 0)
            err_sys("clone in the joined user namespace");
    }
    rep.err = g_err;
    _exit(write_all(ic->report_fd, &rep, sizeof rep) < 0 || rep.pid < 0);
}

pid_t ns_clone_in_joined_userns(const struct rt_spec *spec, int flags, int (*fn)(void *), void *arg)
{
    const struct rt_ns *user = spec_ns(spec, CLONE_NEWUSER);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return err_sys("pipe");
    struct inter_ctx ic = {user, flags, fn, arg, p[1]};
    size_t stack_size = 64 << 10;
    char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        close(p[0]);
        close(p[1]);
        return err_sys("mmap intermediate stack");
    }
    pid_t inter = clone(intermediate, stack + stack_size, SIGCHLD, &ic);
    int clone_errno = errno;
    munmap(stack, stack_size);
    close(p[1]);
    if (inter < 0) {
        close(p[0]);
        errno = clone_errno;
        return err_sys("clone");
    }
    struct inter_report rep;
    ssize_t n;
    while ((n = read(p[0], &rep, sizeof rep)) < 0 && errno == EINTR)
        ;
    close(p[0]);
    while (waitpid(inter, NULL, 0) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof rep)
        return err_msg(1, "the process joining user namespace %s died", user->path);
    if (rep.pid < 0) {
        g_err = rep.err;
        g_err.msg[sizeof g_err.msg - 1] = 0;
        return -1;
    }
    return rep.pid;
}
