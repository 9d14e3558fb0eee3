/* psc-userns: holds a new, empty user namespace for the engine, which cannot make one itself (a .NET process is
 * multi-threaded, and unshare(CLONE_NEWUSER) refuses multi-threaded callers).
 *
 * The engine spawns it with fd 3 the write end of a "ready" pipe and fd 0 the read end of a "hold" pipe. It
 * unshares its user namespace, writes one byte to fd 3 and waits for EOF on fd 0. Meanwhile the engine, which has
 * CAP_SETUID/CAP_SETGID in the parent namespace, writes /proc/PID/uid_map and gid_map and opens /proc/PID/ns/user:
 * that descriptor keeps the namespace alive after this process exits, and is what MOUNT_ATTR_IDMAP takes.
 * A failure is one line on stderr and exit status 1; the engine then sees EOF instead of the byte. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    if (unshare(CLONE_NEWUSER) < 0) {
        fprintf(stderr, "psc-userns: unshare(CLONE_NEWUSER): %s\n", strerror(errno));
        return 1;
    }
    char c = 'u';
    if (write(3, &c, 1) != 1) {
        fprintf(stderr, "psc-userns: write ready byte: %s\n", strerror(errno));
        return 1;
    }
    close(3);
    char buf[64];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) != 0) /* EOF: the engine has its descriptor (or gave up) */
        if (n < 0 && errno != EINTR)
            return 1;
    return 0;
}
