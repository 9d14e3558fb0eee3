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
int ns_join(const struct rt_spec *spec, bool user_only)
{
    for (size_t i = 0; i < spec->n_namespaces; i++) {
        const struct rt_ns *ns = &spec->namespaces[i];
        if (!ns->path || ns->flag == CLONE_NEWPID || ns->flag == CLONE_NEWCGROUP)
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
