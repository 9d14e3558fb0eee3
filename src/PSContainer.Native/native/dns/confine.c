/* Confinement: psc-dns answers every container of every user network, so a flaw in it must not hand them the host.
 * The engine starts it as root; once its config directory, resolv.conf and ready file are open it becomes
 * nobody:nogroup with no supplementary group and keeps ONE capability, CAP_NET_BIND_SERVICE: networks made later
 * need their gateway's port 53 bound, and that is all it may still do beyond an unprivileged process (the bounding
 * set holds nothing else, inheritable and ambient are empty, so nothing can be regained). no_new_privs is set and a
 * seccomp filter (libseccomp, linked statically) makes execve/execveat fail: psc-dns never runs a program. */
#include "dns.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NOBODY 65534

static int fail(char *err, size_t err_len, const char *what, int e)
{
    snprintf(err, err_len, "%s failed: %s", what, strerror(e));
    return -1;
}

static int cap_last(void)
{
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    int last = CAP_LAST_CAP;
    if (f) {
        if (fscanf(f, "%d", &last) != 1)
            last = CAP_LAST_CAP;
        if (fclose(f) != 0)
            return CAP_LAST_CAP;
    }
    return last;
}

static int forbid_exec(char *err, size_t err_len)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return fail(err, err_len, "seccomp_init", ENOMEM);
    int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execve), 0);
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execveat), 0);
    if (r == 0)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    return r == 0 ? 0 : fail(err, err_len, "seccomp", -r);
}

int confine(char *err, size_t err_len)
{
    /* The bounding set first (needs CAP_SETPCAP, i.e. root): everything but CAP_NET_BIND_SERVICE. */
    int last = cap_last();
    for (int c = 0; c <= last; c++)
        if (c != CAP_NET_BIND_SERVICE && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
            return fail(err, err_len, "prctl(PR_CAPBSET_DROP)", errno);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
        return fail(err, err_len, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", errno);
    /* KEEPCAPS: the permitted set survives the change of uid, so the one capability can be kept below. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
        return fail(err, err_len, "prctl(PR_SET_KEEPCAPS)", errno);
    if (setgroups(0, NULL) != 0)
        return fail(err, err_len, "setgroups", errno);
    if (setresgid(NOBODY, NOBODY, NOBODY) != 0)
        return fail(err, err_len, "setresgid", errno);
    if (setresuid(NOBODY, NOBODY, NOBODY) != 0)
        return fail(err, err_len, "setresuid", errno);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
        return fail(err, err_len, "prctl(PR_SET_KEEPCAPS, 0)", errno);
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    data[0].effective = data[0].permitted = 1u << CAP_NET_BIND_SERVICE;
    if (syscall(SYS_capset, &header, data) != 0)
        return fail(err, err_len, "capset", errno);
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0)
        return fail(err, err_len, "getresuid", errno);
    if (ru != NOBODY || eu != NOBODY || su != NOBODY || rg != NOBODY || eg != NOBODY || sg != NOBODY || setuid(0) == 0) {
        snprintf(err, err_len, "the process still holds root after setresuid");
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fail(err, err_len, "prctl(PR_SET_NO_NEW_PRIVS)", errno);
    return forbid_exec(err, err_len);
}
