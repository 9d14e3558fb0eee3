/* The container process's own settings: sysctls, rlimits, oom_score_adj, user and groups, and finding the
 * command to exec (checked at create time, so a typo fails `create` with 127 like runc, not `start`). */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"

/* only sysctls that belong to a namespace the container has its own copy of may be set */
static bool sysctl_namespaced(const struct rt_spec *spec, const char *key)
{
    if (strncmp(key, "net.", 4) == 0)
        return spec_ns(spec, CLONE_NEWNET) != NULL;
    if (strncmp(key, "kernel.shm", 10) == 0 || strncmp(key, "kernel.msg", 10) == 0 ||
        strcmp(key, "kernel.sem") == 0 || strncmp(key, "fs.mqueue.", 10) == 0)
        return spec_ns(spec, CLONE_NEWIPC) != NULL;
    if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0)
        return spec_ns(spec, CLONE_NEWUTS) != NULL;
    return false;
}

int process_sysctl(const struct rt_spec *spec)
{
    for (size_t i = 0; i < spec->n_sysctl; i++) {
        const char *key = spec->sysctl_keys[i];
        if (!sysctl_namespaced(spec, key) || strstr(key, ".."))
            return err_msg(1, "sysctl %s is not in a separate kernel namespace", key);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "/proc/sys/%s", key);
        for (char *p = path + 10; *p; p++)
            if (*p == '.')
                *p = '/';
        if (write_file(path, spec->sysctl_values[i]) < 0)
            return -1;
    }
    return 0;
}

int process_rlimits(const struct rt_spec *spec)
{
    for (size_t i = 0; i < spec->n_rlimits; i++) {
        struct rlimit rl = {(rlim_t)spec->rlimits[i].soft, (rlim_t)spec->rlimits[i].hard};
        if (setrlimit(spec->rlimits[i].resource, &rl) < 0)
            return err_sys("setrlimit %d %llu %llu", spec->rlimits[i].resource, spec->rlimits[i].soft,
                           spec->rlimits[i].hard);
    }
    return 0;
}

int process_oom_score_adj(const struct rt_spec *spec)
{
    if (!spec->has_oom_score_adj)
        return 0;
    char buf[16];
    snprintf(buf, sizeof buf, "%d", spec->oom_score_adj);
    return write_file("/proc/self/oom_score_adj", buf);
}

/* a user namespace whose setgroups file says "deny" (made by an unprivileged user) keeps the groups it was made
 * with: nobody in it can change them */
static bool setgroups_denied(void)
{
    char buf[16];
    return read_file("/proc/self/setgroups", buf, sizeof buf) > 0 && strncmp(buf, "deny", 4) == 0;
}

int process_setup_user(const struct rt_spec *spec)
{
    /* setgroups first: it replaces the runtime's supplementary groups, which must never reach the container. Its
     * failure is an error (the runtime's groups would stay), but for the one case where keeping them is all the
     * kernel allows and all the spec asks: a setgroups-denied user namespace and no additionalGids. */
    if (setgroups(spec->n_additional_gids, spec->additional_gids) < 0 &&
        !(errno == EPERM && spec->n_additional_gids == 0 && setgroups_denied()))
        return err_sys("setgroups %zu additional gids", spec->n_additional_gids);
    if (setresgid(spec->gid, spec->gid, spec->gid) < 0)
        return err_sys("setgid %u", spec->gid);
    if (setresuid(spec->uid, spec->uid, spec->uid) < 0)
        return err_sys("setuid %u", spec->uid);
    return 0;
}

const char *process_env_get(char **env, const char *name)
{
    size_t l = strlen(name);
    for (char **e = env; e && *e; e++)
        if (strncmp(*e, name, l) == 0 && (*e)[l] == '=')
            return *e + l + 1;
    return NULL;
}

/* exec.LookPath's rules (what runc reports): a name with a slash is checked as is, a bare name is looked up in
 * the container's PATH and only a regular file with an execute bit counts. */
static int check_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (!(st.st_mode & 0111))
        return -EACCES;
    return 0;
}

int process_lookup(const struct rt_spec *spec, char *out, size_t outlen)
{
    const char *name = spec->args[0];
    if (strchr(name, '/')) {
        int r = check_file(name);
        if (r == 0) {
            snprintf(out, outlen, "%s", name);
            return 0;
        }
        if (r == -ENOENT || r == -ENOTDIR)
            return err_msg(127, "exec: \"%s\": stat %s: %s", name, name, strerror(-r));
        return err_msg(126, "exec: \"%s\": %s", name, strerror(-r));
    }
    const char *path = process_env_get(spec->args ? spec->env : NULL, "PATH");
    char buf[8192];
    snprintf(buf, sizeof buf, "%s", path ? path : PSC_DEFAULT_PATH);
    for (char *save = NULL, *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char cand[PATH_MAX];
        snprintf(cand, sizeof cand, "%s/%s", *dir ? dir : ".", name);
        if (check_file(cand) == 0) {
            snprintf(out, outlen, "%s", cand);
            return 0;
        }
    }
    return err_msg(127, "exec: \"%s\": executable file not found in $PATH", name);
}

/* The last steps before exec, shared by a container's first process and exec'd ones: the session keyring and (without
 * no_new_privs) the seccomp filter (security.c), no_new_privs, the bounding
 * set, the working directory, the user (keeping capabilities across setuid, then setting them), the umask, and
 * the command looked up. The caller has marked the runtime's descriptors close-on-exec; the cwd is checked to be
 * inside the root once entered. chdir is tried as root first (root may reach a cwd the user cannot traverse to) and
 * again as the user on EACCES. */
int process_become(const struct rt_spec *s, char *exe, size_t exelen)
{
    if (security_enter(s) < 0)
        return -1;
    if (s->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return err_sys("prctl PR_SET_NO_NEW_PRIVS");
    if (caps_drop_bounding(s) < 0)
        return -1;
    bool chdir_done = chdir(s->cwd) == 0;
    if (!chdir_done && errno != EACCES)
        return err_sys("chdir %s", s->cwd);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return err_sys("prctl PR_SET_KEEPCAPS");
    if (process_setup_user(s) < 0)
        return -1;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return err_sys("prctl PR_SET_KEEPCAPS");
    if (caps_apply(s) < 0)
        return -1;
    if (!chdir_done && chdir(s->cwd) < 0)
        return err_sys("chdir %s", s->cwd);
    if (confine_cwd(s->cwd) < 0)
        return -1;
    umask(s->umask >= 0 ? (mode_t)s->umask : 0022);
    return process_lookup(s, exe, exelen);
}
