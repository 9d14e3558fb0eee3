/* cgroups, v1 (one hierarchy per controller, found in mountinfo) and v2 (one unified tree at /sys/fs/cgroup).
 * The parent creates the cgroup, writes the limits and moves the child in before the child may go on, so the
 * container never runs a single instruction of its own outside its limits. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

#ifndef CG2_ROOT /* overridable at build time only, to exercise the v2 driver on a hybrid host's v2 tree */
#define CG2_ROOT "/sys/fs/cgroup"
#endif

static const char *const v1_controllers[] = {"cpu",     "cpuacct", "cpuset",  "memory",   "pids",     "devices",
                                             "freezer", "blkio",   "net_cls", "net_prio", "hugetlb", "perf_event"};

static bool is_v2(void)
{
    return access(CG2_ROOT "/cgroup.controllers", F_OK) == 0;
}

/* super options of a v1 cgroup mount, e.g. "rw,cpu,cpuacct" -> "cpu,cpuacct" (only real controllers) */
static bool v1_controllers_of(const char *opts, char *out, size_t len)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", opts);
    out[0] = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        /* named hierarchies (name=systemd) hold no controller, but runc joins and mounts them too */
        bool named = strncmp(t, "name=", 5) == 0;
        for (size_t i = 0; i < sizeof v1_controllers / sizeof *v1_controllers; i++) {
            if (named || strcmp(t, v1_controllers[i]) == 0) {
                if (out[0])
                    strncat(out, ",", len - strlen(out) - 1);
                strncat(out, t, len - strlen(out) - 1);
                break;
            }
        }
    }
    return out[0] != 0;
}

static char *join_path(const char *a, const char *b)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s%s%s", a, b[0] == '/' ? "" : "/", b);
    return strdup(buf);
}

static int discover(const char *cgpath, struct rt_cgroup *cg)
{
    memset(cg, 0, sizeof *cg);
    if (is_v2()) {
        cg->v2 = true;
        cg->n = 1;
        cg->ctrl[0] = strdup("");
        cg->path[0] = join_path(CG2_ROOT, cgpath);
        return 0;
    }
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return err_sys("open /proc/self/mountinfo");
    char line[4096];
    while (fgets(line, sizeof line, f) && cg->n < CG_MAX) {
        /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
        char mnt[PATH_MAX], fstype[64], superopts[512];
        char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
            sscanf(sep + 3, "%63s %*s %511s", fstype, superopts) != 2)
            continue;
        char ctrls[256];
        if (strcmp(fstype, "cgroup2") == 0) /* hybrid: the controller-less v2 tree; runc joins it too */
            snprintf(ctrls, sizeof ctrls, "unified");
        else if (strcmp(fstype, "cgroup") != 0 || !v1_controllers_of(superopts, ctrls, sizeof ctrls))
            continue;
        bool dup = false;
        for (size_t i = 0; i < cg->n; i++)
            dup |= strcmp(cg->ctrl[i], ctrls) == 0;
        if (dup)
            continue;
        cg->ctrl[cg->n] = strdup(ctrls);
        cg->path[cg->n] = join_path(mnt, cgpath);
        cg->n++;
    }
    fclose(f);
    if (cg->n == 0)
        return err_msg(1, "no cgroup hierarchy found (neither %s/cgroup.controllers nor v1 mounts)", CG2_ROOT);
    return 0;
}

bool cgroup_has_ctrl(const struct rt_cgroup *cg, size_t i, const char *name)
{
    if (cg->v2)
        return true;
    char buf[256];
    snprintf(buf, sizeof buf, ",%s,", cg->ctrl[i]);
    char needle[64];
    snprintf(needle, sizeof needle, ",%s,", name);
    return strstr(buf, needle) != NULL;
}

/* v1 cpuset: a new cgroup starts with empty cpus/mems and refuses tasks until they are filled from the parent */
static int cpuset_fill(const char *dir)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (size_t k = 0; k < 2; k++) {
        char path[PATH_MAX], parent[PATH_MAX], val[4096];
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        if (read_file(path, val, sizeof val) < 0)
            return err_sys("read %s", path);
        if (val[0] && val[0] != '\n')
            continue;
        snprintf(parent, sizeof parent, "%s", dir);
        *strrchr(parent, '/') = 0;
        snprintf(parent + strlen(parent), sizeof parent - strlen(parent), "/%s", files[k]);
        if (read_file(parent, val, sizeof val) < 0)
            return err_sys("read %s", parent);
        if (write_file(path, val) < 0)
            return -1;
    }
    return 0;
}

/* v2: a controller is usable in a cgroup only when every ancestor enables it in cgroup.subtree_control */
static int enable_subtree(const char *dir)
{
    char controllers[1024], path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.controllers", dir);
    if (read_file(path, controllers, sizeof controllers) < 0)
        return err_sys("read %s", path);
    snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
    for (char *save = NULL, *t = strtok_r(controllers, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
        if (strcmp(t, "cpu") && strcmp(t, "memory") && strcmp(t, "pids") && strcmp(t, "cpuset") && strcmp(t, "io") &&
            strcmp(t, "hugetlb"))
            continue;
        char op[64];
        snprintf(op, sizeof op, "+%s", t);
        if (write_file(path, op) < 0)
            log_warn("enable %s in %s: %s", t, path, g_err.msg); /* e.g. a threaded subtree: limits will say so */
    }
    return 0;
}

/* mkdir each level below the hierarchy root (cgpath is "/a/b", the tail of every path) */
static int make_dirs(const struct rt_cgroup *cg, size_t i, const char *cgpath)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", cg->path[i]);
    for (char *p = buf + strlen(buf) - strlen(cgpath) + 1;; p++) {
        bool end = *p == 0;
        if (*p != '/' && !end)
            continue;
        *p = 0;
        if (cg->v2) {
            char parent[PATH_MAX];
            snprintf(parent, sizeof parent, "%s", buf);
            *strrchr(parent, '/') = 0;
            if (enable_subtree(parent) < 0)
                return -1;
        }
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return err_sys("mkdir cgroup %s", buf);
        if (!cg->v2 && cgroup_has_ctrl(cg, i, "cpuset") && cpuset_fill(buf) < 0)
            return -1;
        if (end)
            break;
        *p = '/';
    }
    return 0;
}

int cgroup_create(const struct rt_spec *spec, struct rt_cgroup *cg)
{
    /* normalise to "/a/b": relative paths are taken from the hierarchy root too */
    char cgpath[PATH_MAX];
    snprintf(cgpath, sizeof cgpath, "%s%s", spec->cgroups_path[0] == '/' ? "" : "/", spec->cgroups_path);
    while (strlen(cgpath) > 1 && cgpath[strlen(cgpath) - 1] == '/')
        cgpath[strlen(cgpath) - 1] = 0;
    if (strcmp(cgpath, "/") == 0 || strstr(cgpath, "/../") || (strlen(cgpath) >= 3 && strcmp(cgpath + strlen(cgpath) - 3, "/..") == 0))
        return err_msg(1, "invalid cgroupsPath \"%s\"", spec->cgroups_path);
    if (discover(cgpath, cg) < 0)
        return -1;
    for (size_t i = 0; i < cg->n; i++)
        if (make_dirs(cg, i, cgpath) < 0)
            return -1;
    return 0;
}

int cgroup_write(const char *dir, const char *file, const char *fmt, ...)
{
    char path[PATH_MAX], val[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return write_file(path, val);
}

/* runc's defaults: devices every container may use whatever linux.resources.devices says */
static const struct rt_devrule default_rules[] = {
    {true, 'c', -1, -1, "m"},  {true, 'b', -1, -1, "m"},  {true, 'c', 1, 3, "rwm"}, {true, 'c', 1, 8, "rwm"},
    {true, 'c', 1, 7, "rwm"},  {true, 'c', 5, 0, "rwm"},  {true, 'c', 1, 5, "rwm"}, {true, 'c', 1, 9, "rwm"},
    {true, 'c', 5, 1, "rwm"},  {true, 'c', 136, -1, "rwm"}, {true, 'c', 5, 2, "rwm"}, {true, 'c', 10, 200, "rwm"},
};

static int v1_device_rule(const char *dir, const struct rt_devrule *r)
{
    char maj[24] = "*", min[24] = "*";
    if (r->major >= 0)
        snprintf(maj, sizeof maj, "%" PRId64, r->major);
    if (r->minor >= 0)
        snprintf(min, sizeof min, "%" PRId64, r->minor);
    if (r->type == 'a') /* "a" means every device, whatever the numbers */
        return cgroup_write(dir, r->allow ? "devices.allow" : "devices.deny", "a");
    return cgroup_write(dir, r->allow ? "devices.allow" : "devices.deny", "%c %s:%s %s", r->type, maj, min, r->access);
}

static int apply_v1(const struct rt_spec *s, const struct rt_cgroup *cg, size_t i)
{
    const char *d = cg->path[i];
    if (cgroup_has_ctrl(cg, i, "memory")) {
        if (s->has_mem_limit && cgroup_write(d, "memory.limit_in_bytes", "%" PRId64, s->mem_limit) < 0)
            return -1;
        if (s->has_mem_swap) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/memory.memsw.limit_in_bytes", d);
            if (access(p, F_OK) == 0) {
                if (cgroup_write(d, "memory.memsw.limit_in_bytes", "%" PRId64, s->mem_swap) < 0)
                    return -1;
            } else {
                log_warn("swap limit ignored: the kernel has no memory.memsw (swap accounting off)");
            }
        }
    }
    if (cgroup_has_ctrl(cg, i, "cpu")) {
        if (s->has_cpu_period && s->cpu_period && cgroup_write(d, "cpu.cfs_period_us", "%" PRIu64, s->cpu_period) < 0)
            return -1;
        if (s->has_cpu_quota && s->cpu_quota && cgroup_write(d, "cpu.cfs_quota_us", "%" PRId64, s->cpu_quota) < 0)
            return -1;
        if (s->has_cpu_shares && s->cpu_shares && cgroup_write(d, "cpu.shares", "%" PRIu64, s->cpu_shares) < 0)
            return -1;
    }
    if (cgroup_has_ctrl(cg, i, "pids") && s->has_pids_limit) {
        if (s->pids_limit > 0 ? cgroup_write(d, "pids.max", "%" PRId64, s->pids_limit) < 0 : cgroup_write(d, "pids.max", "max") < 0)
            return -1;
    }
    if (cgroup_has_ctrl(cg, i, "devices") && s->n_devrules) {
        for (size_t k = 0; k < s->n_devrules; k++)
            if (v1_device_rule(d, &s->devrules[k]) < 0)
                return -1;
        for (size_t k = 0; k < sizeof default_rules / sizeof *default_rules; k++)
            if (v1_device_rule(d, &default_rules[k]) < 0)
                return -1;
    }
    return 0;
}

static int apply_v2(const struct rt_spec *s, const char *d)
{
    if (s->has_mem_limit && (s->mem_limit > 0 ? cgroup_write(d, "memory.max", "%" PRId64, s->mem_limit)
                                              : cgroup_write(d, "memory.max", "max")) < 0)
        return -1;
    if (s->has_mem_swap) {
        /* OCI's swap is memory+swap (v1 memsw); v2's memory.swap.max is swap alone */
        int r;
        if (s->mem_swap < 0)
            r = cgroup_write(d, "memory.swap.max", "max");
        else if (s->has_mem_limit && s->mem_limit > 0 && s->mem_swap >= s->mem_limit)
            r = cgroup_write(d, "memory.swap.max", "%" PRId64, s->mem_swap - s->mem_limit);
        else
            r = err_msg(1, "memory.swap (%" PRId64 ") must be -1 or at least memory.limit", s->mem_swap);
        if (r < 0)
            return -1;
    }
    if (s->has_cpu_quota || s->has_cpu_period) {
        uint64_t period = s->has_cpu_period && s->cpu_period ? s->cpu_period : 100000;
        int r = s->has_cpu_quota && s->cpu_quota > 0 ? cgroup_write(d, "cpu.max", "%" PRId64 " %" PRIu64, s->cpu_quota, period)
                                                     : cgroup_write(d, "cpu.max", "max %" PRIu64, period);
        if (r < 0)
            return -1;
    }
    if (s->has_cpu_shares && s->cpu_shares) { /* runc's shares [2,262144] -> weight [1,10000] */
        uint64_t shares = s->cpu_shares < 2 ? 2 : s->cpu_shares > 262144 ? 262144 : s->cpu_shares;
        if (cgroup_write(d, "cpu.weight", "%" PRIu64, 1 + ((shares - 2) * 9999) / 262142) < 0)
            return -1;
    }
    if (s->has_pids_limit && (s->pids_limit > 0 ? cgroup_write(d, "pids.max", "%" PRId64, s->pids_limit)
                                                : cgroup_write(d, "pids.max", "max")) < 0)
        return -1;
    if (s->n_devrules) { /* as v1: the spec's rules, then the default allowances; one eBPF program, last match wins */
        size_t nd = sizeof default_rules / sizeof *default_rules, n = s->n_devrules + nd;
        struct rt_devrule *rules = calloc(n, sizeof *rules);
        if (!rules)
            abort();
        memcpy(rules, s->devrules, s->n_devrules * sizeof *rules);
        memcpy(rules + s->n_devrules, default_rules, sizeof default_rules);
        int r = devices_bpf_apply(d, rules, n);
        free(rules);
        if (r < 0)
            return -1;
    }
    return 0;
}

int cgroup_apply(const struct rt_spec *spec, const struct rt_cgroup *cg)
{
    if (resources_check(&spec->resources, cg) < 0)
        return -1;
    for (size_t i = 0; i < cg->n; i++) {
        if ((cg->v2 ? apply_v2(spec, cg->path[i]) : apply_v1(spec, cg, i)) < 0)
            return -1;
        if ((cg->v2 ? resources_apply_v2(&spec->resources, cg->path[i]) : resources_apply_v1(&spec->resources, cg, i)) < 0)
            return -1;
    }
    return 0;
}

int cgroup_join(const struct rt_cgroup *cg, pid_t pid)
{
    for (size_t i = 0; i < cg->n; i++)
        if (cgroup_write(cg->path[i], "cgroup.procs", "%d", pid) < 0)
            return -1;
    return 0;
}

int cgroup_pids(const struct rt_cgroup *cg, pid_t **pids, size_t *n)
{
    *pids = NULL;
    *n = 0;
    if (cg->n == 0)
        return 0;
    /* every process of the container is in every hierarchy: pick one, pids if it is there */
    size_t idx = 0;
    for (size_t i = 0; i < cg->n; i++)
        if (!cg->v2 && cgroup_has_ctrl(cg, i, "pids"))
            idx = i;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", cg->path[idx]);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : err_sys("open %s", path);
    size_t cap = 0;
    int pid;
    while (fscanf(f, "%d", &pid) == 1) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            pid_t *np = realloc(*pids, cap * sizeof **pids);
            if (!np)
                abort();
            *pids = np;
        }
        (*pids)[(*n)++] = pid;
    }
    fclose(f);
    return 0;
}

int cgroup_kill(const struct rt_cgroup *cg, int sig)
{
    pid_t *pids;
    size_t n;
    if (cgroup_pids(cg, &pids, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (kill(pids[i], sig) < 0 && errno != ESRCH) {
            free(pids);
            return err_sys("kill %d", pids[i]);
        }
    free(pids);
    return 0;
}

int cgroup_destroy(const struct rt_cgroup *cg)
{
    /* SIGKILL until the cgroup is empty (a fork may race the first round), then rmdir every hierarchy */
    for (int round = 0; round < 500; round++) {
        pid_t *pids;
        size_t n;
        if (cgroup_pids(cg, &pids, &n) < 0)
            return -1;
        free(pids);
        if (n == 0)
            break;
        if (round == 0 && cg->v2) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/cgroup.kill", cg->path[0]);
            if (access(p, F_OK) == 0)
                write_file(p, "1");
        }
        cgroup_kill(cg, SIGKILL);
        if (round == 0 && cgroup_is_frozen(cg) == 1) { /* a frozen task takes its SIGKILL only once thawed */
            struct rt_error saved = g_err;
            cgroup_freeze(cg, false);
            g_err = saved;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < cg->n; i++) {
        int tries = 0;
        /* a killed task leaves the cgroup a moment after it is reaped: EBUSY is worth a short retry */
        while (rmdir(cg->path[i]) < 0) {
            if (errno == ENOENT)
                break;
            if (errno != EBUSY || ++tries > 200)
                return err_sys("rmdir cgroup %s", cg->path[i]);
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

void cgroup_free(struct rt_cgroup *cg)
{
    for (size_t i = 0; i < cg->n; i++) {
        free(cg->ctrl[i]);
        free(cg->path[i]);
    }
    cg->n = 0;
}

/* The spec's "cgroup" mount. v2: a cgroup2 mount (the child is in its own cgroup namespace, so its cgroup is the
 * root it sees). v1: a tmpfs with each hierarchy's container cgroup bind-mounted, like runc. */
int cgroup_mount(const struct rt_cgroup *cg, const struct rt_mount *m, int rootfd)
{
    unsigned long flags = m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_NOATIME | MS_STRICTATIME);
    int fd = open_in_root(rootfd, m->dest, O_PATH | O_DIRECTORY, true, false, 0755);
    if (fd < 0)
        return -1;
    char target[64];
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    if (cg->v2) {
        int r = mount("cgroup2", target, "cgroup2", flags | (m->flags & MS_RDONLY), NULL);
        if (r < 0)
            err_sys("mount cgroup2 on %s", m->dest);
        close(fd);
        return r;
    }
    if (mount("tmpfs", target, "tmpfs", flags, "mode=755") < 0) {
        err_sys("mount tmpfs on %s", m->dest);
        close(fd);
        return -1;
    }
    close(fd);
    /* the O_PATH fd still names the directory under the new tmpfs: open the mount itself */
    fd = open_in_root(rootfd, m->dest, O_PATH | O_DIRECTORY, false, false, 0);
    if (fd < 0)
        return -1;
    int ret = -1;
    for (size_t i = 0; i < cg->n; i++) {
        char dst[PATH_MAX];
        if (strcmp(cg->ctrl[i], "unified") == 0) /* as runc: the hybrid v2 tree is not shown to the container */
            continue;
        const char *name = strncmp(cg->ctrl[i], "name=", 5) == 0 ? cg->ctrl[i] + 5 : cg->ctrl[i];
        if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST) {
            err_sys("mkdir %s/%s", m->dest, name);
            goto out;
        }
        snprintf(dst, sizeof dst, "/proc/self/fd/%d/%s", fd, name);
        if (mount(cg->path[i], dst, NULL, MS_BIND | MS_REC, NULL) < 0) {
            err_sys("bind %s on %s/%s", cg->path[i], m->dest, name);
            goto out;
        }
        if (mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | flags | (m->flags & MS_RDONLY) | mount_locked_flags(dst), NULL) < 0) {
            err_sys("remount %s/%s", m->dest, name);
            goto out;
        }
        if (strchr(cg->ctrl[i], ',')) { /* "cpu,cpuacct": "cpu" and "cpuacct" as links, as on the host */
            char names[256];
            snprintf(names, sizeof names, "%s", cg->ctrl[i]);
            for (char *save = NULL, *t = strtok_r(names, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (symlinkat(cg->ctrl[i], fd, t) < 0 && errno != EEXIST) {
                    err_sys("symlink %s/%s", m->dest, t);
                    goto out;
                }
        }
    }
    if (m->flags & MS_RDONLY) {
        snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
        if (mount("tmpfs", target, "tmpfs", MS_REMOUNT | MS_RDONLY | flags, "mode=755") < 0) {
            err_sys("remount %s read-only", m->dest);
            goto out;
        }
    }
    ret = 0;
out:
    close(fd);
    return ret;
}

/* ---- freezer: pause/resume ----
 * v1: freezer.state FROZEN/THAWED (FREEZING while the kernel works through the tasks); v2: cgroup.freeze, and
 * cgroup.events says "frozen 1" once every task stopped. */
static const char *freezer_dir(const struct rt_cgroup *cg)
{
    for (size_t i = 0; i < cg->n; i++)
        if (cg->v2 || cgroup_has_ctrl(cg, i, "freezer"))
            return cg->path[i];
    return NULL;
}

int cgroup_is_frozen(const struct rt_cgroup *cg)
{
    const char *d = freezer_dir(cg);
    if (!d)
        return -1;
    char path[PATH_MAX], buf[512];
    if (cg->v2) {
        snprintf(path, sizeof path, "%s/cgroup.events", d);
        if (read_file(path, buf, sizeof buf) < 0)
            return -1;
        return strstr(buf, "frozen 1") != NULL;
    }
    snprintf(path, sizeof path, "%s/freezer.state", d);
    if (read_file(path, buf, sizeof buf) < 0)
        return -1;
    /* FREEZING counts as paused too: the tasks that are stopped stay stopped */
    return strncmp(buf, "FROZEN", 6) == 0 || strncmp(buf, "FREEZING", 8) == 0;
}

int cgroup_freeze(const struct rt_cgroup *cg, bool freeze)
{
    const char *d = freezer_dir(cg);
    if (!d)
        return err_msg(1, "no freezer cgroup for this container");
    char path[PATH_MAX], buf[512];
    if (cg->v2) {
        if (cgroup_write(d, "cgroup.freeze", freeze ? "1" : "0") < 0)
            return -1;
        snprintf(path, sizeof path, "%s/cgroup.events", d);
        for (int i = 0; i < 1000; i++) { /* up to 10 s */
            if (read_file(path, buf, sizeof buf) < 0)
                return err_sys("read %s", path);
            if ((strstr(buf, "frozen 1") != NULL) == freeze)
                return 0;
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        return err_msg(1, "cgroup %s did not %s in time", d, freeze ? "freeze" : "thaw");
    }
    const char *want = freeze ? "FROZEN" : "THAWED";
    snprintf(path, sizeof path, "%s/freezer.state", d);
    for (int i = 0; i < 1000; i++) {
        /* like runc: write again while FREEZING, a task that forked meanwhile is caught by the next write */
        if (i % 10 == 0 && cgroup_write(d, "freezer.state", "%s", want) < 0)
            return -1;
        if (read_file(path, buf, sizeof buf) < 0)
            return err_sys("read %s", path);
        if (strncmp(buf, want, strlen(want)) == 0)
            return 0;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (freeze)
        cgroup_write(d, "freezer.state", "THAWED"); /* do not leave it half frozen */
    return err_msg(1, "cgroup %s did not %s in time", d, freeze ? "freeze" : "thaw");
}
