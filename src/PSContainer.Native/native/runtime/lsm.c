/* AppArmor and SELinux labels (process.apparmorProfile, process.selinuxLabel, exec --apparmor/--process-label).
 * Where the host runs the module, the label is set for the next execve (/proc/self/attr/...exec), which is how
 * runc's libraries do it. Where it does not, a label is an error: nothing could enforce it, and a silent drop
 * would let a caller believe the container is confined. "unconfined" needs no module: it is what a process
 * without AppArmor is. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

bool lsm_apparmor_enabled(void)
{
    char buf[8];
    return access("/sys/kernel/security/apparmor", F_OK) == 0 &&
           read_file("/sys/module/apparmor/parameters/enabled", buf, sizeof buf) > 0 && buf[0] == 'Y';
}

bool lsm_selinux_enabled(void)
{
    return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

static bool wants_apparmor(const char *profile)
{
    return profile && *profile && strcmp(profile, "unconfined") != 0;
}

int lsm_check(const char *apparmor_profile, const char *selinux_label)
{
    if (wants_apparmor(apparmor_profile) && !lsm_apparmor_enabled())
        return err_msg(1, "AppArmor profile \"%s\" cannot be applied: AppArmor is not enabled on this host",
                       apparmor_profile);
    if (selinux_label && *selinux_label && !lsm_selinux_enabled())
        return err_msg(1, "SELinux label \"%s\" cannot be applied: SELinux is not enabled on this host",
                       selinux_label);
    return 0;
}

int lsm_apply(const char *apparmor_profile, const char *selinux_label)
{
    if (wants_apparmor(apparmor_profile)) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "exec %s", apparmor_profile);
        /* the per-module file exists since 5.8; the shared one is what older kernels have */
        if (access("/proc/self/attr/apparmor/exec", F_OK) == 0 ? write_file("/proc/self/attr/apparmor/exec", cmd) < 0
                                                                : write_file("/proc/self/attr/exec", cmd) < 0)
            return -1;
    }
    if (selinux_label && *selinux_label && write_file("/proc/self/attr/exec", selinux_label) < 0)
        return -1;
    return 0;
}
