/* config.json (OCI runtime-spec 1.x) into struct rt_spec. Anything we cannot honour is an error, not a silent skip. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sched.h>
#include <sys/resource.h>

#include "runtime.h"

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
        return v;
    return NULL;
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool get_bool(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    return v && json_object_get_boolean(v);
}

static size_t array_len(json_object *a)
{
    return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

static const char **string_array(json_object *a, size_t *n)
{
    *n = array_len(a);
    const char **out = xcalloc(*n + 1, sizeof *out);
    for (size_t i = 0; i < *n; i++)
        out[i] = json_object_get_string(json_object_array_get_idx(a, i));
    return out;
}

struct named { const char *name; unsigned long value; };

/* mount(8) option names; "clear" entries remove the flag */
static const struct { const char *name; bool clear; unsigned long flag; } mount_flags[] = {
    {"ro", false, MS_RDONLY}, {"rw", true, MS_RDONLY}, {"nosuid", false, MS_NOSUID}, {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV}, {"dev", true, MS_NODEV}, {"noexec", false, MS_NOEXEC}, {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS}, {"async", true, MS_SYNCHRONOUS}, {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT}, {"mand", false, MS_MANDLOCK}, {"nomand", true, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME}, {"atime", true, MS_NOATIME}, {"nodiratime", false, MS_NODIRATIME},
    {"diratime", true, MS_NODIRATIME}, {"relatime", false, MS_RELATIME}, {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME}, {"nostrictatime", true, MS_STRICTATIME},
    {"bind", false, MS_BIND}, {"rbind", false, MS_BIND | MS_REC},
};

static const struct named propagation_flags[] = {
    {"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC}, {"shared", MS_SHARED}, {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE}, {"rslave", MS_SLAVE | MS_REC}, {"unbindable", MS_UNBINDABLE},
    {"runbindable", MS_UNBINDABLE | MS_REC},
};

static unsigned long propagation(const char *name)
{
    for (size_t i = 0; i < sizeof propagation_flags / sizeof *propagation_flags; i++)
        if (strcmp(name, propagation_flags[i].name) == 0)
            return propagation_flags[i].value;
    return 0;
}

static int parse_mount(json_object *jm, struct rt_mount *m)
{
    m->dest = get_str(jm, "destination");
    m->type = get_str(jm, "type");
    m->source = get_str(jm, "source");
    if (!m->dest || m->dest[0] != '/')
        return err_msg(1, "config.json: mount destination must be an absolute path: %s", m->dest ? m->dest : "(none)");
    json_object *opts = get(jm, "options");
    size_t n = array_len(opts), datalen = 0;
    m->data = xcalloc(1, 1);
    for (size_t i = 0; i < n; i++) {
        const char *o = json_object_get_string(json_object_array_get_idx(opts, i));
        bool known = false;
        for (size_t k = 0; k < sizeof mount_flags / sizeof *mount_flags; k++) {
            if (strcmp(o, mount_flags[k].name) == 0) {
                if (mount_flags[k].clear)
                    m->flags &= ~mount_flags[k].flag;
                else
                    m->flags |= mount_flags[k].flag;
                known = true;
            }
        }
        unsigned long p = propagation(o);
        if (p && m->npflags < 4) {
            m->pflags[m->npflags++] = p;
            known = true;
        }
        if (!known) { /* filesystem data, e.g. mode=755,size=64m */
            size_t l = strlen(o);
            m->data = realloc(m->data, datalen + l + 2);
            if (!m->data)
                abort();
            if (datalen)
                m->data[datalen++] = ',';
            memcpy(m->data + datalen, o, l + 1);
            datalen += l;
        }
    }
    m->bind = (m->type && strcmp(m->type, "bind") == 0) || (m->flags & MS_BIND);
    if (m->bind)
        m->flags |= MS_BIND;
    if (!m->bind && !m->type)
        return err_msg(1, "config.json: mount %s has no type", m->dest);
    return 0;
}

static const struct named rlimit_names[] = {
    {"RLIMIT_CPU", RLIMIT_CPU}, {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC}, {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_LOCKS", RLIMIT_LOCKS}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

static int parse_caps(json_object *jc, const char *set, uint64_t *out)
{
    json_object *a = get(jc, set);
    size_t n = array_len(a);
    int last = cap_last();
    for (size_t i = 0; i < n; i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(a, i));
        int c = cap_from_name(name);
        if (c < 0)
            return err_msg(1, "config.json: unknown capability \"%s\" in process.capabilities.%s", name, set);
        if (c > last) { /* known, but this kernel does not have it: runc ignores it too */
            log_warn("capability %s is not supported by this kernel", name);
            continue;
        }
        *out |= 1ULL << c;
    }
    return 0;
}

static int parse_idmaps(json_object *a, struct rt_idmap **out, size_t *n)
{
    *n = array_len(a);
    *out = xcalloc(*n, sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        json_object *e = json_object_array_get_idx(a, i);
        (*out)[i].container_id = (unsigned long)json_object_get_int64(get(e, "containerID"));
        (*out)[i].host_id = (unsigned long)json_object_get_int64(get(e, "hostID"));
        (*out)[i].size = (unsigned long)json_object_get_int64(get(e, "size"));
    }
    return 0;
}

static bool get_i64(json_object *o, const char *key, int64_t *out)
{
    json_object *v = get(o, key);
    if (!v || json_object_is_type(v, json_type_null))
        return false;
    *out = json_object_get_int64(v);
    return true;
}

static int parse_resources(json_object *r, struct rt_spec *s)
{
    json_object *mem = get(r, "memory"), *cpu = get(r, "cpu"), *pids = get(r, "pids");
    s->has_mem_limit = get_i64(mem, "limit", &s->mem_limit);
    s->has_mem_swap = get_i64(mem, "swap", &s->mem_swap);
    int64_t v;
    if ((s->has_cpu_shares = get_i64(cpu, "shares", &v)))
        s->cpu_shares = (uint64_t)v;
    s->has_cpu_quota = get_i64(cpu, "quota", &s->cpu_quota);
    if ((s->has_cpu_period = get_i64(cpu, "period", &v)))
        s->cpu_period = (uint64_t)v;
    s->has_pids_limit = get_i64(pids, "limit", &s->pids_limit);
    if (resources_parse(r, &s->resources) < 0)
        return -1;

    json_object *devs = get(r, "devices");
    s->n_devrules = array_len(devs);
    s->devrules = xcalloc(s->n_devrules, sizeof *s->devrules);
    for (size_t i = 0; i < s->n_devrules; i++) {
        json_object *d = json_object_array_get_idx(devs, i);
        struct rt_devrule *rule = &s->devrules[i];
        rule->allow = get_bool(d, "allow");
        const char *type = get_str(d, "type"), *access = get_str(d, "access");
        rule->type = type && *type ? type[0] : 'a';
        if (!strchr("acb", rule->type))
            return err_msg(1, "config.json: invalid device rule type \"%s\"", type);
        if (!get_i64(d, "major", &rule->major))
            rule->major = -1;
        if (!get_i64(d, "minor", &rule->minor))
            rule->minor = -1;
        snprintf(rule->access, sizeof rule->access, "%s", access && *access ? access : "rwm");
    }
    return 0;
}

static int parse_devices(json_object *a, struct rt_spec *s)
{
    s->n_devices = array_len(a);
    s->devices = xcalloc(s->n_devices, sizeof *s->devices);
    for (size_t i = 0; i < s->n_devices; i++) {
        json_object *d = json_object_array_get_idx(a, i);
        struct rt_device *dev = &s->devices[i];
        const char *type = get_str(d, "type");
        dev->path = get_str(d, "path");
        if (!dev->path || dev->path[0] != '/' || !type || !strchr("cbup", type[0]))
            return err_msg(1, "config.json: invalid device %s", dev->path ? dev->path : "(no path)");
        dev->type = type[0];
        int64_t v;
        dev->major = get_i64(d, "major", &v) ? v : 0;
        dev->minor = get_i64(d, "minor", &v) ? v : 0;
        dev->mode = get_i64(d, "fileMode", &v) ? (mode_t)v : 0666;
        dev->uid = get_i64(d, "uid", &v) ? (uid_t)v : 0;
        dev->gid = get_i64(d, "gid", &v) ? (gid_t)v : 0;
    }
    return 0;
}

int spec_parse_process(json_object *proc, struct rt_spec *s)
{
    if (!proc || !json_object_is_type(proc, json_type_object))
        return err_msg(1, "process must be an object");
    s->terminal = get_bool(proc, "terminal");
    json_object *cs = get(proc, "consoleSize");
    int64_t cv;
    if (get_i64(cs, "height", &cv))
        s->console_height = (unsigned short)cv;
    if (get_i64(cs, "width", &cv))
        s->console_width = (unsigned short)cv;
    s->apparmor_profile = get_str(proc, "apparmorProfile");
    s->selinux_label = get_str(proc, "selinuxLabel");
    json_object *user = get(proc, "user");
    int64_t v;
    s->uid = get_i64(user, "uid", &v) ? (uid_t)v : 0;
    s->gid = get_i64(user, "gid", &v) ? (gid_t)v : 0;
    s->umask = get_i64(user, "umask", &v) ? (int)v : -1;
    json_object *agids = get(user, "additionalGids");
    s->n_additional_gids = array_len(agids);
    s->additional_gids = xcalloc(s->n_additional_gids, sizeof(gid_t));
    for (size_t i = 0; i < s->n_additional_gids; i++)
        s->additional_gids[i] = (gid_t)json_object_get_int64(json_object_array_get_idx(agids, i));

    size_t n;
    s->args = (char **)string_array(get(proc, "args"), &n);
    if (n == 0)
        return err_msg(1, "config.json: process.args must not be empty");
    s->env = (char **)string_array(get(proc, "env"), &n);
    s->cwd = get_str(proc, "cwd");
    if (!s->cwd || s->cwd[0] != '/')
        return err_msg(1, "config.json: process.cwd must be an absolute path");

    json_object *caps = get(proc, "capabilities");
    if (caps) {
        s->has_caps = true;
        if (parse_caps(caps, "bounding", &s->cap_bounding) < 0 || parse_caps(caps, "effective", &s->cap_effective) < 0 ||
            parse_caps(caps, "inheritable", &s->cap_inheritable) < 0 ||
            parse_caps(caps, "permitted", &s->cap_permitted) < 0 || parse_caps(caps, "ambient", &s->cap_ambient) < 0)
            return -1;
    }

    json_object *rl = get(proc, "rlimits");
    s->n_rlimits = array_len(rl);
    s->rlimits = xcalloc(s->n_rlimits, sizeof *s->rlimits);
    for (size_t i = 0; i < s->n_rlimits; i++) {
        json_object *e = json_object_array_get_idx(rl, i);
        const char *type = get_str(e, "type");
        int res = -1;
        for (size_t k = 0; type && k < sizeof rlimit_names / sizeof *rlimit_names; k++)
            if (strcmp(type, rlimit_names[k].name) == 0)
                res = (int)rlimit_names[k].value;
        if (res < 0)
            return err_msg(1, "config.json: unknown rlimit \"%s\"", type ? type : "");
        s->rlimits[i].resource = res;
        s->rlimits[i].soft = (unsigned long long)json_object_get_uint64(get(e, "soft"));
        s->rlimits[i].hard = (unsigned long long)json_object_get_uint64(get(e, "hard"));
    }
    s->no_new_privileges = get_bool(proc, "noNewPrivileges");
    if ((s->has_oom_score_adj = get_i64(proc, "oomScoreAdj", &v)))
        s->oom_score_adj = (int)v;

    return 0;
}

int spec_load(const char *bundle_arg, struct rt_spec *s)
{
    memset(s, 0, sizeof *s);
    char path[PATH_MAX], bundle[PATH_MAX];
    if (!realpath(bundle_arg, bundle))
        return err_sys("bundle %s", bundle_arg);
    s->bundle = strdup(bundle);
    snprintf(path, sizeof path, "%s/config.json", bundle);
    s->json = config_read(path, &s->seccomp, &s->seccomp_len);
    if (!s->json)
        return err_msg(1, "config.json %s: %s", path, json_util_get_last_err() ? json_util_get_last_err() : "invalid");
    json_object *j = s->json;

    const char *ver = get_str(j, "ociVersion");
    if (!ver || strncmp(ver, "1.", 2) != 0)
        return err_msg(1, "config.json: unsupported ociVersion \"%s\"", ver ? ver : "");

    json_object *proc = get(j, "process");
    if (!proc)
        return err_msg(1, "config.json: process is required");
    if (spec_parse_process(proc, s) < 0)
        return -1;

    json_object *root = get(j, "root");
    const char *rootpath = get_str(root, "path");
    if (!rootpath)
        return err_msg(1, "config.json: root.path is required");
    char rp[PATH_MAX * 2];
    if (rootpath[0] == '/')
        snprintf(rp, sizeof rp, "%s", rootpath);
    else
        snprintf(rp, sizeof rp, "%s/%s", bundle, rootpath);
    if (!realpath(rp, path))
        return err_sys("rootfs %s", rp);
    s->rootfs = strdup(path);
    s->root_readonly = get_bool(root, "readonly");
    s->hostname = get_str(j, "hostname");

    json_object *mounts = get(j, "mounts");
    s->n_mounts = array_len(mounts);
    s->mounts = xcalloc(s->n_mounts, sizeof *s->mounts);
    for (size_t i = 0; i < s->n_mounts; i++)
        if (parse_mount(json_object_array_get_idx(mounts, i), &s->mounts[i]) < 0)
            return -1;

    json_object *linux_ = get(j, "linux");
    json_object *nss = get(linux_, "namespaces");
    s->n_namespaces = array_len(nss);
    s->namespaces = xcalloc(s->n_namespaces, sizeof *s->namespaces);
    for (size_t i = 0; i < s->n_namespaces; i++) {
        json_object *e = json_object_array_get_idx(nss, i);
        const char *type = get_str(e, "type");
        s->namespaces[i].flag = type ? ns_flag_from_type(type) : 0;
        if (!s->namespaces[i].flag)
            return err_msg(1, "config.json: unknown namespace type \"%s\"", type ? type : "");
        s->namespaces[i].path = get_str(e, "path");
        if (s->namespaces[i].path && !*s->namespaces[i].path)
            s->namespaces[i].path = NULL;
    }
    parse_idmaps(get(linux_, "uidMappings"), &s->uid_maps, &s->n_uid_maps);
    parse_idmaps(get(linux_, "gidMappings"), &s->gid_maps, &s->n_gid_maps);
    const struct rt_ns *userns = spec_ns(s, CLONE_NEWUSER);
    if (userns && !userns->path && (s->n_uid_maps == 0 || s->n_gid_maps == 0))
        return err_msg(1, "config.json: a new user namespace needs linux.uidMappings and linux.gidMappings");

    json_object *sysctl = get(linux_, "sysctl");
    if (sysctl && json_object_is_type(sysctl, json_type_object)) {
        s->n_sysctl = (size_t)json_object_object_length(sysctl);
        s->sysctl_keys = xcalloc(s->n_sysctl, sizeof(char *));
        s->sysctl_values = xcalloc(s->n_sysctl, sizeof(char *));
        size_t i = 0;
        json_object_object_foreach(sysctl, key, val) {
            s->sysctl_keys[i] = key;
            s->sysctl_values[i++] = json_object_get_string(val);
        }
    }
    if (parse_resources(get(linux_, "resources"), s) < 0)
        return -1;
    s->cgroups_path = get_str(linux_, "cgroupsPath");
    const char *prop = get_str(linux_, "rootfsPropagation");
    if (prop && *prop && !(s->rootfs_propagation = propagation(prop)))
        return err_msg(1, "config.json: invalid linux.rootfsPropagation \"%s\"", prop);
    s->masked_paths = string_array(get(linux_, "maskedPaths"), &s->n_masked);
    s->readonly_paths = string_array(get(linux_, "readonlyPaths"), &s->n_readonly);
    if (parse_devices(get(linux_, "devices"), s) < 0)
        return -1;
    s->annotations = get(j, "annotations");
    s->hooks = get(j, "hooks");
    if (lsm_check(s->apparmor_profile, s->selinux_label) < 0)
        return -1;
    return 0;
}

const struct rt_ns *spec_ns(const struct rt_spec *spec, int flag)
{
    for (size_t i = 0; i < spec->n_namespaces; i++)
        if (spec->namespaces[i].flag == flag)
            return &spec->namespaces[i];
    return NULL;
}

/* systemd's "slice:prefix:name" cgroupsPath as a cgroupfs path, as runc's systemd driver would place it:
 * "machine-a.slice:libpod:abc" -> "/machine.slice/machine-a.slice/libpod-abc.scope". */
int spec_systemd_cgroup_path(const char *in, char *out, size_t len)
{
    const char *c1 = strchr(in, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || strchr(c2 + 1, ':'))
        return 0; /* not systemd's form: used as is */
    char slice[256], prefix[256], name[256];
    snprintf(slice, sizeof slice, "%.*s", (int)(c1 - in), in);
    snprintf(prefix, sizeof prefix, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
    snprintf(name, sizeof name, "%s", c2 + 1);
    if (!*slice)
        snprintf(slice, sizeof slice, "system.slice");
    size_t sl = strlen(slice);
    if (sl < 6 || strcmp(slice + sl - 6, ".slice") != 0 || strchr(slice, '/'))
        return err_msg(1, "invalid systemd slice \"%s\" in cgroupsPath \"%s\"", slice, in);
    out[0] = 0;
    if (strcmp(slice, "-.slice") != 0) {
        /* each dash-separated prefix of the slice name is a parent slice */
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int)(sl - 6), slice);
        for (char *p = base;; p++) {
            if (*p == '-' || *p == 0) {
                char c = *p;
                *p = 0;
                size_t ol = strlen(out);
                snprintf(out + ol, len - ol, "/%s.slice", base);
                *p = c;
                if (!c)
                    break;
            }
        }
    }
    size_t ol = strlen(out);
    if (strlen(name) > 6 && strcmp(name + strlen(name) - 6, ".slice") == 0)
        snprintf(out + ol, len - ol, "/%s", name);
    else if (*prefix)
        snprintf(out + ol, len - ol, "/%s-%s.scope", prefix, name);
    else
        snprintf(out + ol, len - ol, "/%s.scope", name);
    return 1;
}
