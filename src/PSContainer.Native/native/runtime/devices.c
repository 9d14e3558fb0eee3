/* /dev: the default devices every container has, linux.devices, and the /dev/fd, /dev/std* and /dev/ptmx links.
 * Nodes are made with mknod; in a user namespace (where mknod is refused) the host's node is bind-mounted. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime.h"

static const struct rt_device default_devices[] = {
    {"/dev/null", 'c', 1, 3, 0666, 0, 0},   {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
    {"/dev/full", 'c', 1, 7, 0666, 0, 0},   {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
    {"/dev/random", 'c', 1, 8, 0666, 0, 0}, {"/dev/urandom", 'c', 1, 9, 0666, 0, 0},
};

static int create_device(int rootfd, const struct rt_device *d, bool bind)
{
    char dir[PATH_MAX], name[NAME_MAX + 1];
    snprintf(dir, sizeof dir, "%s", d->path);
    char *slash = strrchr(dir, '/');
    snprintf(name, sizeof name, "%s", slash + 1);
    *slash = 0;
    if (!*name || strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
        return err_msg(1, "invalid device path %s", d->path);
    int dfd = open_in_root(rootfd, dir, O_PATH | O_DIRECTORY, true, false, 0755);
    if (dfd < 0)
        return -1;
    int r = -1;
    if (!bind) {
        mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
            err_sys("remove %s", d->path);
            goto out;
        }
        if (mknodat(dfd, name, type | (d->mode & 07777), makedev((unsigned)d->major, (unsigned)d->minor)) < 0) {
            if (errno != EPERM) {
                err_sys("mknod %s", d->path);
                goto out;
            }
            bind = true; /* e.g. a user namespace we joined by path */
        } else if (fchownat(dfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0) {
            err_sys("chown %s", d->path);
            goto out;
        }
    }
    if (bind) {
        if (mknodat(dfd, name, S_IFREG | 0644, 0) < 0 && errno != EEXIST) {
            err_sys("create %s", d->path);
            goto out;
        }
        int fd = open_in_root(rootfd, d->path, O_PATH, false, false, 0);
        if (fd < 0)
            goto out;
        char target[64];
        snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
        int m = mount(d->path, target, NULL, MS_BIND, NULL);
        if (m < 0)
            err_sys("bind %s", d->path);
        close(fd);
        if (m < 0)
            goto out;
    }
    r = 0;
out:
    close(dfd);
    return r;
}

int devices_create(const struct rt_spec *spec, int rootfd, bool userns)
{
    bool dev = false;
    for (size_t i = 0; i < spec->n_mounts; i++)
        if (strcmp(spec->mounts[i].dest, "/dev") == 0)
            dev = !spec->mounts[i].bind;
    for (size_t i = 0; dev && i < sizeof default_devices / sizeof *default_devices; i++) {
        bool overridden = false;
        for (size_t k = 0; k < spec->n_devices; k++)
            overridden |= strcmp(spec->devices[k].path, default_devices[i].path) == 0;
        if (!overridden && create_device(rootfd, &default_devices[i], userns) < 0)
            return -1;
    }
    for (size_t k = 0; k < spec->n_devices; k++)
        if (create_device(rootfd, &spec->devices[k], userns) < 0)
            return -1;
    return 0;
}

int devices_symlinks(int rootfd)
{
    static const char *const links[][2] = {
        {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
    };
    int dfd = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, false, false, 0);
    if (dfd < 0)
        return -1;
    for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
        if (strcmp(links[i][1], "ptmx") == 0 && unlinkat(dfd, "ptmx", 0) < 0 && errno != ENOENT) {
            close(dfd);
            return err_sys("remove /dev/ptmx");
        }
        if (symlinkat(links[i][0], dfd, links[i][1]) < 0 && errno != EEXIST) {
            close(dfd);
            return err_sys("symlink /dev/%s", links[i][1]);
        }
    }
    if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dfd, "core") < 0 && errno != EEXIST) {
        close(dfd);
        return err_sys("symlink /dev/core");
    }
    close(dfd);
    return 0;
}
