/* What keeps the host out of reach of the container while the runtime still runs inside it, between its first step
 * into the container and execve:
 *
 * - not dumpable (CVE-2016-9962): until execve the process holds the runtime's descriptors and memory; a dumpable
 *   process of the same uid with no more capabilities than the container's is open to ptrace and to
 *   /proc/PID/{fd,cwd,environ,mem} from any container process. Non-dumpable, the kernel asks for CAP_SYS_PTRACE,
 *   which containers lack. execve makes the container's command dumpable again, as it should be.
 * - close-on-exec on every descriptor but the ones the caller asked to pass (CVE-2024-21626).
 * - the working directory: created inside the root only (never through a symlink or /proc magic link that leaves
 *   it) and, once entered, checked to be under the container's root (CVE-2024-21626: a leaked host directory
 *   descriptor named as /proc/self/fd/N would otherwise put the process's cwd on the host). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"
#include "syscalls.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int confine_nondumpable(void)
{
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return err_sys("prctl PR_SET_DUMPABLE 0");
    return 0;
}

/* Without close_range(CLOSE_RANGE_CLOEXEC) (kernels before 5.11, or a seccomp filter that refuses it) every open
 * descriptor is found by name: a loop up to some bound would miss one above it, and RLIMIT_NOFILE is no bound
 * (a descriptor opened before the limit was lowered stays open). */
static int cloexec_by_name(int first)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return err_sys("mark descriptors close-on-exec: close_range is unavailable and /proc/self/fd cannot be read");
    int self = dirfd(d), r = 0;
    struct dirent *e;
    for (;;) {
        errno = 0;
        if (!(e = readdir(d))) {
            if (errno)
                r = err_sys("read /proc/self/fd");
            break;
        }
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end || fd < first || fd == self || fd > INT_MAX)
            continue;
        int fl = fcntl((int)fd, F_GETFD);
        if (fl < 0 || fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
            r = err_sys("mark descriptor %ld close-on-exec", fd);
            break;
        }
    }
    closedir(d);
    return r;
}

int keep_fds_from(int first)
{
    if (syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return 0;
    if (errno != ENOSYS && errno != EINVAL && errno != EPERM)
        return err_sys("close_range %d", first);
    return cloexec_by_name(first);
}

int pass_fds(int n)
{
    for (int fd = 3; fd < 3 + n; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl < 0 && errno == EBADF)
            continue; /* not open: nothing to pass */
        if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
            return err_sys("pass descriptor %d (--preserve-fds)", fd);
    }
    return keep_fds_from(3 + n);
}

int confine_make_cwd(const char *cwd)
{
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return err_sys("open /");
    /* resolved in the root without magic links: "/proc/self/fd/N/x" can never make a directory on the host */
    int fd = open_in_root(root, cwd, O_PATH | O_DIRECTORY, true, false, 0755);
    int saved = errno;
    close(root);
    if (fd < 0 && saved == ELOOP)
        return err_msg(1, "process.cwd %s cannot be resolved inside the container's root (a symlink loop, or a /proc "
                          "magic link such as /proc/self/fd/N that leads out of it): refused", cwd);
    if (fd < 0) {
        char why[sizeof g_err.msg];
        snprintf(why, sizeof why, "%s", g_err.msg);
        return err_msg(1, "process.cwd %s: %s", cwd, why);
    }
    close(fd);
    return 0;
}

int confine_cwd(const char *cwd)
{
    char buf[PATH_MAX];
    /* the kernel names a directory the process's root cannot reach "(unreachable)/...", which glibc reports as
     * ENOENT; a directory removed under us gives the same answer and is no place to run either */
    if (!getcwd(buf, sizeof buf)) {
        if (errno == ENOENT)
            return err_msg(1, "process.cwd %s is outside the container's root filesystem: refused (possible container "
                              "breakout, CVE-2024-21626)", cwd);
        return err_sys("getcwd after chdir %s", cwd);
    }
    if (buf[0] != '/')
        return err_msg(1, "process.cwd %s is outside the container's root filesystem (%s): refused", cwd, buf);
    return 0;
}
