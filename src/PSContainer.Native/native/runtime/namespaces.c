/* Namespaces: the spec's names, joining existing ones by path, and the user namespace id maps (written by the
 * parent, which holds the privilege in the outer namespace, while the child waits). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

static const struct { const char *type, *proc; int flag; } ns_table[] = {
    {"pid", "pid", CLONE_NEWPID},       {"network", "net", CLONE_NEWNET}, {"mount", "mnt", CLONE_NEWNS},
    {"ipc", "ipc", CLONE_NEWIPC},       {"uts", "uts", CLONE_NEWUTS},     {"user", "user", CLONE_NEWUSER},
    {"cgroup", "cgroup", CLONE_NEWCGROUP}, {"time", "time", 0x00000080 /* CLONE_NEWTIME */},
};

int ns_flag_from_type(const char *type)
{
    for (size_t i = 0; i < sizeof ns_table / sizeof *ns_table; i++)
        if (strcmp(type, ns_table[i].type) == 0)
            return ns_table[i].flag;
    return 0;
}

const char *ns_proc_name(int flag)
{
    for (size_t i = 0; i < sizeof ns_table / sizeof *ns_table; i++)
        if (ns_table[i].flag == flag)
            return ns_table[i].proc;
    return "?";
}

static int join_one(const struct rt_ns *ns)
{
    int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys("open %s namespace %s", ns_proc_name(ns->flag), ns->path);
    int r = setns(fd, ns->flag);
    int saved = errno;
    close(fd);
    errno = saved;
    if (r < 0)
        return err_sys("setns %s namespace %s", ns_proc_name(ns->flag), ns->path);
    return 0;
}

/* The user namespace is joined first (it decides what we may join next); the pid namespace is joined by the
 * parent before clone() because setns(CLONE_NEWPID) only applies to children; cgroup is handled after the
 * cgroup is joined. */
static int joined_early; /* CLONE_NEW* flags the parent joined before clone() (inherited by the child's copy) */

void ns_mark_joined(int flag)
{
    joined_early |= flag;
}

int ns_join(const struct rt_spec *spec, bool user_only)
{
    for (size_t i = 0; i < spec->n_namespaces; i++) {
        const struct rt_ns *ns = &spec->namespaces[i];
        if (!ns->path || ns->flag == CLONE_NEWPID || ns->flag == CLONE_NEWCGROUP || (ns->flag & joined_early))
            continue;
        if ((ns->flag == CLONE_NEWUSER) != user_only)
            continue;
        if (join_one(ns) < 0)
            return -1;
    }
    return 0;
}

static int write_map(pid_t pid, const char *file, const struct rt_idmap *maps, size_t n)
{
    char path[64], buf[4096];
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof buf; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%lu %lu %lu\n", maps[i].container_id, maps[i].host_id,
                                maps[i].size);
    if (len >= sizeof buf)
        return err_msg(1, "too many id mappings");
    snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    return write_file(path, buf);
}

int ns_write_id_maps(pid_t pid, const struct rt_spec *spec)
{
    /* an unprivileged writer may only map its own gid after denying setgroups; real root needs no deny and
     * keeps setgroups usable for process.user.additionalGids */
    if (geteuid() != 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
        if (write_file(path, "deny") < 0 && errno != ENOENT)
            return -1;
    }
    if (write_map(pid, "uid_map", spec->uid_maps, spec->n_uid_maps) < 0)
        return -1;
    return write_map(pid, "gid_map", spec->gid_maps, spec->n_gid_maps);
}

int ns_join_type(const struct rt_spec *spec, int flag)
{
    const struct rt_ns *ns = spec_ns(spec, flag);
    return ns && ns->path ? join_one(ns) : 0;
}

/* A new user namespace together with an existing (say network) namespace given by path: once the child is in its
 * new user namespace it has no privilege over namespaces owned by the host's, so setns would fail. As runc does,
 * such namespaces are joined before the user namespace is made: the parent joins them just before clone() (the
 * child inherits them) and returns to its own right after (ns_restore_early). A mount namespace given by path stays
 * with the child: the parent still needs the host's filesystem, and a mount namespace the new user namespace does not
 * own would refuse every mount of the rootfs anyway (runc fails the same way). The opposite case, a user namespace
 * given by path with new namespaces, is userns_join.c's. */
int ns_join_early(const struct rt_spec *spec, int saved[8])
{
    for (int i = 0; i < 8; i++)
        saved[i] = -1;
    const struct rt_ns *user = spec_ns(spec, CLONE_NEWUSER);
    if (!user || user->path)
        return 0;
    int k = 0;
    for (size_t i = 0; i < spec->n_namespaces && k < 8; i++) {
        const struct rt_ns *ns = &spec->namespaces[i];
        if (!ns->path || ns->flag == CLONE_NEWPID || ns->flag == CLONE_NEWCGROUP || ns->flag == CLONE_NEWNS ||
            ns->flag == CLONE_NEWUSER)
            continue;
        char self[64];
        snprintf(self, sizeof self, "/proc/self/ns/%s", ns_proc_name(ns->flag));
        if ((saved[k] = open(self, O_RDONLY | O_CLOEXEC)) < 0)
            return err_sys("open %s", self);
        k++;
        if (join_one(ns) < 0)
            return -1;
        joined_early |= ns->flag;
    }
    return 0;
}

int ns_restore_early(int saved[8])
{
    int r = 0;
    for (int i = 0; i < 8; i++) {
        if (saved[i] < 0)
            continue;
        if (setns(saved[i], 0) < 0 && r == 0)
            r = err_sys("return to the runtime's namespace");
        close(saved[i]);
        saved[i] = -1;
    }
    return r;
}
