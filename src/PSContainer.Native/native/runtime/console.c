/* process.terminal: runc's console-socket protocol. The runtime connects to --console-socket (a unix socket of the
 * engine: conmon, containerd's shim, `recvtty`) while it still sees the host's filesystem; the container process
 * later opens /dev/ptmx of its own devpts instance (after pivot_root, so the pty belongs to the container and shows
 * as /dev/pts/N inside it), makes the slave its stdio and controlling terminal, and sends the master over the
 * socket with SCM_RIGHTS (the payload is the pty's name, as runc sends it). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "runtime.h"

static int send_fd(int sock, int fd, const char *name)
{
    return send_with_fd(sock, name, strlen(name), fd) < 0 ? err_sys("send pty master over the console socket") : 0;
}

int console_setup(int sockfd, const struct rt_spec *spec)
{
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return err_sys("open /dev/ptmx in the container");
    int r = -1, slave = -1;
    char name[PATH_MAX];
    if (unlockpt(master) < 0) {
        err_sys("unlockpt");
        goto out;
    }
    if (ptsname_r(master, name, sizeof name) != 0) {
        err_sys("ptsname");
        goto out;
    }
    if ((slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        err_sys("open %s", name);
        goto out;
    }
    if (spec->console_height || spec->console_width) {
        struct winsize ws = {.ws_row = spec->console_height, .ws_col = spec->console_width};
        if (ioctl(slave, TIOCSWINSZ, &ws) < 0) {
            err_sys("set the terminal size");
            goto out;
        }
    }
    if (send_fd(sockfd, master, name) < 0)
        goto out;
    /* a session of its own with the pty as controlling terminal; a forked process is never a group leader */
    if (setsid() < 0 && errno != EPERM) {
        err_sys("setsid");
        goto out;
    }
    if (ioctl(slave, TIOCSCTTY, 0) < 0) {
        err_sys("make %s the controlling terminal", name);
        goto out;
    }
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0) {
            err_sys("dup2 %s to %d", name, fd);
            goto out;
        }
    r = 0;
out:
    if (slave > 2)
        close(slave);
    close(master);
    return r;
}
