/* Placing a new process (a container's init, an exec's process) into the container's cgroups without another
 * process writing its pid into cgroup.procs.
 *
 * Such a write takes the kernel's global cgroup_threadgroup_rwsem for writing, and that waits for an RCU grace
 * period whenever no other writer came during the last one: ~3 jiffies (12-15 ms on the project's VM, idle or
 * not), on every create and exec of an engine that starts containers one at a time. Two moves skip the lock:
 *  - v2 (the whole tree on a v2 host, the controller-less "unified" tree on a hybrid one): clone3 with
 *    CLONE_INTO_CGROUP creates the process in its cgroup; the lock is only read;
 *  - v1 hierarchies: the new process moves itself, one thread (itself) by writing "0" to each hierarchy's
 *    `tasks`, which the kernel does without the lock. It writes through descriptors the parent opened, so the
 *    kernel checks the opener's credentials (5.16+), first thing: an exec's intermediate process before it joins
 *    any namespace; a container's init already in the new namespaces its clone made, a new user namespace
 *    included, whose id maps are not written yet (v1 compares kernel ids, which it keeps: the host's root).
 * Raw clone/clone3 run no glibc fork handlers and leave the thread's cached tid stale: fine while psc-runtime is
 * single-threaded, as it is, and the child only makes system calls and execs.
 * When clone3 or CLONE_INTO_CGROUP is refused (kernels before 5.7, an outer runtime's seccomp filter, a cgroup
 * the kernel will not clone into), the process is cloned plainly and the parent writes its pid into the v2
 * cgroup.procs as before, which reports the real error if there is one. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"
#include "syscalls.h"

#define PSC_CLONE_INTO_CGROUP 0x200000000ULL

struct psc_clone_args { /* struct clone_args of linux/sched.h (CLONE_ARGS_SIZE_VER2) */
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static bool is_v2_entry(const struct rt_cgroup *cg, size_t i)
{
    return cg->v2 || strcmp(cg->ctrl[i], "unified") == 0;
}

void placement_init(struct cgroup_placement *pl)
{
    memset(pl, 0, sizeof *pl);
    pl->v2_fd = -1;
    pl->v2_index = -1;
    for (size_t i = 0; i < CG_MAX; i++)
        pl->tasks_fd[i] = -1;
}

int placement_open(const struct rt_cgroup *cg, struct cgroup_placement *pl)
{
    placement_init(pl);
    pl->cg = cg;
    for (size_t i = 0; i < cg->n; i++) {
        if (is_v2_entry(cg, i)) {
            pl->v2_index = (int)i;
            if ((pl->v2_fd = open(cg->path[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
                err_sys("open cgroup %s", cg->path[i]);
                placement_close(pl);
                return -1;
            }
            continue;
        }
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/tasks", cg->path[i]) >= (int)sizeof path) {
            err_msg(1, "cgroup path too long: %s", cg->path[i]);
            placement_close(pl);
            return -1;
        }
        if ((pl->tasks_fd[i] = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
            err_sys("open %s", path);
            placement_close(pl);
            return -1;
        }
    }
    return 0;
}

pid_t placement_clone(struct cgroup_placement *pl, int flags)
{
    pl->v2_by_parent = pl->v2_index >= 0;
    if (pl->v2_fd >= 0) {
        struct psc_clone_args args = {
            .flags = (uint64_t)(unsigned)flags | PSC_CLONE_INTO_CGROUP,
            .exit_signal = SIGCHLD,
            .cgroup = (uint64_t)pl->v2_fd,
        };
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid >= 0) {
            pl->v2_by_parent = false;
            return (pid_t)pid;
        }
    }
    /* a fork with namespace flags: no stack, so the child goes on from here on a copy of ours */
    return (pid_t)PSC_RAW_CLONE((unsigned long)flags | SIGCHLD);
}

int placement_join_self(struct cgroup_placement *pl)
{
    for (size_t i = 0; i < pl->cg->n; i++) {
        if (pl->tasks_fd[i] < 0)
            continue;
        if (write(pl->tasks_fd[i], "0", 1) != 1) {
            err_sys("join cgroup %s", pl->cg->path[i]);
            placement_close(pl);
            return -1;
        }
    }
    placement_close(pl); /* the container must hold none of them */
    return 0;
}

int placement_finish(struct cgroup_placement *pl, pid_t pid)
{
    int r = 0;
    if (pl->v2_by_parent && pl->v2_index >= 0)
        r = cgroup_write(pl->cg->path[pl->v2_index], "cgroup.procs", "%d", pid);
    pl->v2_by_parent = false;
    return r;
}

void placement_close(struct cgroup_placement *pl)
{
    if (pl->v2_fd >= 0)
        close(pl->v2_fd);
    pl->v2_fd = -1;
    for (size_t i = 0; i < CG_MAX; i++) {
        if (pl->tasks_fd[i] >= 0)
            close(pl->tasks_fd[i]);
        pl->tasks_fd[i] = -1;
    }
}
