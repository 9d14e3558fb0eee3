/* The order of the security steps around process_become, shared by a container's first process and exec:
 *   security_enter (first thing in process_become): a new session keyring, then, without no_new_privs, the seccomp
 *     filter (loading one needs CAP_SYS_ADMIN, which the capability steps that follow drop);
 *   security_before_exec (after the last step of the runtime, right before execve): the AppArmor/SELinux labels for
 *     the exec, then the seccomp filter when no_new_privs let it wait until now.
 * The keyring comes before any filter: Docker's default profile denies keyctl. */
#include <limits.h>
#include <stdio.h>

#include "runtime.h"

int security_enter(const struct rt_spec *s)
{
    if (!s->no_new_keyring && keyring_join_session(s->container_id) < 0)
        return -1;
    return seccomp_load_early();
}

int security_before_exec(const struct rt_spec *s)
{
    if (lsm_apply(s->apparmor_profile, s->selinux_label) < 0)
        return -1;
    return seccomp_load_late();
}

int seccomp_from_bundle(const char *bundle, struct rt_spec *p)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/config.json", bundle);
    json_object *cfg = config_read(path, &p->seccomp, &p->seccomp_len);
    if (!cfg)
        return err_msg(1, "exec: cannot read the container's %s", path);
    p->seccomp_owner = cfg;
    return 0;
}
