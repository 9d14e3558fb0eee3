/* The container's root filesystem: the spec's mounts under the rootfs (mount points resolved with
 * openat2(RESOLVE_IN_ROOT), so a symlink in the image can never point a mount outside the rootfs), pivot_root,
 * then masked and read-only paths. Runs in the child, in its own mount namespace. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"
#include "syscalls.h"

static int openat2_in_root(int rootfd, const char *rel, int flags)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof how);
}

/* Open PATH (absolute inside the container) relative to the rootfs; with CREATE make the missing directories and,
 * when CREATE_FILE, the last component as an empty file (a bind mount of a file needs a file to cover). */
int open_in_root(int rootfd, const char *path, int flags, bool create, bool create_file, mode_t mode)
{
    while (*path == '/')
        path++;
    int fd = openat2_in_root(rootfd, path, flags);
    if (fd >= 0 || errno != ENOENT || !create)
        return fd >= 0 ? fd : err_sys("open %s in the container", path);

    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    int parent = openat2_in_root(rootfd, "", O_PATH | O_DIRECTORY);
    if (parent < 0)
        return err_sys("open rootfs");
    char *comp = buf;
    for (;;) {
        char *slash = strchr(comp, '/');
        bool last = slash == NULL;
        if (slash)
            *slash = 0;
        if (*comp) {
            int r = last && create_file ? mknodat(parent, comp, S_IFREG | 0644, 0) : mkdirat(parent, comp, mode);
            if (r < 0 && errno != EEXIST) {
                err_sys("create mount point /%s in the container", buf);
                close(parent);
                return -1;
            }
            /* reopen the prefix from the root: whatever we just met (even a symlink) is resolved in the root */
            close(parent);
            parent = openat2_in_root(rootfd, buf, last ? flags : O_PATH | O_DIRECTORY);
            if (parent < 0)
                return err_sys("open /%s in the container", buf);
        }
        if (last)
            break;
        *slash = '/';
        comp = slash + 1;
    }
    return parent;
}

/* Flags a bind remount must keep: in a user namespace the kernel refuses to clear them, elsewhere keeping them is
 * what the user expects of a bind of a nosuid/nodev/noexec mount. */
unsigned long mount_locked_flags(const char *path)
{
    struct statvfs st;
    if (statvfs(path, &st) < 0)
        return 0;
    unsigned long f = 0;
    if (st.f_flag & ST_NOSUID)
        f |= MS_NOSUID;
    if (st.f_flag & ST_NODEV)
        f |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC)
        f |= MS_NOEXEC;
    if (st.f_flag & ST_NOATIME)
        f |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME)
        f |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME)
        f |= MS_RELATIME;
    return f;
}

static int mount_one(const struct rt_cgroup *cg, const struct rt_mount *m, int rootfd)
{
    if (m->type && strcmp(m->type, "cgroup") == 0 && !m->bind)
        return cgroup_mount(cg, m, rootfd);

    bool file = false;
    if (m->bind) {
        struct stat st;
        if (!m->source || stat(m->source, &st) < 0)
            return err_sys("mount source %s", m->source ? m->source : "(none)");
        file = !S_ISDIR(st.st_mode);
    }
    int fd = open_in_root(rootfd, m->dest, O_PATH, true, file, 0755);
    if (fd < 0)
        return -1;
    char target[64];
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    int r;
    if (m->bind)
        r = mount(m->source, target, NULL, MS_BIND | (m->flags & MS_REC), NULL);
    else
        r = mount(m->source ? m->source : m->type, target, m->type, m->flags & ~MS_REMOUNT, *m->data ? m->data : NULL);
    if (r < 0) {
        err_sys("mount %s %s on %s", m->type ? m->type : "bind", m->source ? m->source : "", m->dest);
        close(fd);
        return -1;
    }
    close(fd);
    unsigned long extra = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (!m->bind && !m->npflags)
        return 0;
    /* our fd names the covered directory: reopen to reach the new mount */
    fd = open_in_root(rootfd, m->dest, O_PATH, false, false, 0);
    if (fd < 0)
        return -1;
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    r = 0;
    if (m->bind && extra) { /* bind ignores flags: they take a remount */
        unsigned long locked = mount_locked_flags(target);
        if (extra & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME | MS_NODIRATIME))
            locked &= ~(MS_NOATIME | MS_RELATIME | MS_NODIRATIME);
        if ((r = mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | extra | locked, NULL)) < 0)
            err_sys("remount %s", m->dest);
    }
    for (int i = 0; r == 0 && i < m->npflags; i++)
        if ((r = mount(NULL, target, NULL, m->pflags[i], NULL)) < 0)
            err_sys("set propagation of %s", m->dest);
    close(fd);
    return r;
}

static bool needs_dev(const struct rt_spec *spec)
{
    for (size_t i = 0; i < spec->n_mounts; i++)
        if (strcmp(spec->mounts[i].dest, "/dev") == 0)
            return !spec->mounts[i].bind;
    return false;
}

int rootfs_prepare(const struct rt_spec *spec, const struct rt_cgroup *cg)
{
    if (!spec_ns(spec, CLONE_NEWNS))
        return err_msg(1, "config.json: a mount namespace is required");
    /* nothing we mount may reach the host: the whole tree becomes a slave (runc's default) or what the spec asks;
     * a shared root is restored after pivot_root, which refuses shared mounts */
    unsigned long prop = spec->rootfs_propagation ? spec->rootfs_propagation : MS_SLAVE | MS_REC;
    if (prop & (MS_SHARED | MS_UNBINDABLE)) /* shared: see above; unbindable: the rootfs bind would be refused */
        prop = MS_SLAVE | MS_REC;
    if (mount(NULL, "/", NULL, prop | MS_REC, NULL) < 0)
        return err_sys("make / %s", "rslave");
    if (mount(spec->rootfs, spec->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return err_sys("bind rootfs %s", spec->rootfs);
    int rootfd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return err_sys("open rootfs %s", spec->rootfs);
    int r = 0;
    for (size_t i = 0; r == 0 && i < spec->n_mounts; i++)
        r = mount_one(cg, &spec->mounts[i], rootfd);
    bool dev = needs_dev(spec);
    if (r == 0)
        r = devices_create(spec, rootfd, spec_ns(spec, CLONE_NEWUSER) != NULL);
    if (r == 0 && dev)
        r = devices_symlinks(rootfd);
    close(rootfd);
    return r;
}

/* --no-pivot (runc's msMoveRoot): move the rootfs onto / and chroot into it. For roots where pivot_root is refused
 * (e.g. a ramfs initrd); the old root stays reachable to a process that can escape a chroot, so it is opt-in. */
static int move_root(const struct rt_spec *spec)
{
    if (chdir(spec->rootfs) < 0)
        return err_sys("chdir %s", spec->rootfs);
    if (mount(spec->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
        return err_sys("move %s to /", spec->rootfs);
    if (chroot(".") < 0)
        return err_sys("chroot %s", spec->rootfs);
    if (chdir("/") < 0)
        return err_sys("chdir /");
    return 0;
}

int rootfs_pivot(const struct rt_spec *spec, bool no_pivot)
{
    if (no_pivot)
        return move_root(spec);
    int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (oldroot < 0)
        return err_sys("open /");
    int newroot = open(spec->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (newroot < 0) {
        close(oldroot);
        return err_sys("open %s", spec->rootfs);
    }
    int r = -1;
    if (fchdir(newroot) < 0) {
        err_sys("chdir %s", spec->rootfs);
        goto out;
    }
    /* pivot_root(".", ".") stacks the old root on top of the new one; detach it from there. No put_old directory
     * is needed inside the image. */
    if (syscall(SYS_pivot_root, ".", ".") < 0) {
        err_sys("pivot_root %s", spec->rootfs);
        goto out;
    }
    if (fchdir(oldroot) < 0) {
        err_sys("fchdir old root");
        goto out;
    }
    /* the unmount must not propagate to the host's mounts */
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) {
        err_sys("make old root rslave");
        goto out;
    }
    if (umount2(".", MNT_DETACH) < 0) {
        err_sys("detach old root");
        goto out;
    }
    if (chdir("/") < 0) {
        err_sys("chdir /");
        goto out;
    }
    r = 0;
out:
    close(oldroot);
    close(newroot);
    return r;
}

int rootfs_finalize_paths(const struct rt_spec *spec)
{
    for (size_t i = 0; i < spec->n_readonly; i++) {
        const char *p = spec->readonly_paths[i];
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
            if (errno == ENOENT)
                continue;
            return err_sys("bind readonly path %s", p);
        }
        if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | mount_locked_flags(p), NULL) < 0)
            return err_sys("remount readonly path %s", p);
    }
    for (size_t i = 0; i < spec->n_masked; i++) {
        const char *p = spec->masked_paths[i];
        if (mount("/dev/null", p, NULL, MS_BIND, NULL) == 0)
            continue;
        if (errno == ENOENT)
            continue;
        if (errno != ENOTDIR)
            return err_sys("mask %s", p);
        /* a directory: cover it with an empty read-only tmpfs */
        if (mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL) < 0)
            return err_sys("mask %s", p);
    }
    return 0;
}

int rootfs_finalize_readonly(const struct rt_spec *spec)
{
    if (spec->root_readonly && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | mount_locked_flags("/"), NULL) < 0)
        return err_sys("remount / read-only");
    /* linux.rootfsPropagation applies to the new "/" itself (as runc, after pivot_root), and last: an (r)unbindable
     * tree could not take the masked and read-only path binds */
    if (spec->rootfs_propagation && mount(NULL, "/", NULL, spec->rootfs_propagation, NULL) < 0)
        return err_sys("set rootfs propagation");
    return 0;
}
