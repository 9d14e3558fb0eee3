/* Capabilities: bounding set dropped while still root, eff/perm/inh set with capset after setuid (the process kept
 * its permitted set through PR_SET_KEEPCAPS), ambient raised last (it needs the cap in permitted and inheritable). */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

static const char *const cap_names[] = {
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
};

int cap_from_name(const char *name)
{
    if (strncasecmp(name, "CAP_", 4) != 0)
        return -1;
    for (size_t i = 0; i < sizeof cap_names / sizeof *cap_names; i++)
        if (strcasecmp(name + 4, cap_names[i]) == 0)
            return (int)i;
    return -1;
}

int cap_last(void)
{
    static int last = -1;
    if (last < 0) {
        char buf[16];
        last = read_file("/proc/sys/kernel/cap_last_cap", buf, sizeof buf) > 0 ? atoi(buf) : CAP_LAST_CAP;
    }
    return last;
}

int caps_drop_bounding(const struct rt_spec *spec)
{
    if (!spec->has_caps)
        return 0;
    for (int c = 0; c <= cap_last(); c++) {
        if (spec->cap_bounding & (1ULL << c))
            continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            return err_sys("prctl PR_CAPBSET_DROP %d", c);
    }
    return 0;
}

int caps_apply(const struct rt_spec *spec)
{
    if (!spec->has_caps)
        return 0;
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    for (int i = 0; i < 2; i++) {
        data[i].effective = (uint32_t)(spec->cap_effective >> (32 * i));
        data[i].permitted = (uint32_t)(spec->cap_permitted >> (32 * i));
        data[i].inheritable = (uint32_t)(spec->cap_inheritable >> (32 * i));
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        return err_sys("capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return err_sys("prctl PR_CAP_AMBIENT_CLEAR_ALL");
    for (int c = 0; c <= cap_last(); c++) {
        if (!(spec->cap_ambient & (1ULL << c)))
            continue;
        /* like runc: an ambient cap that is not also permitted+inheritable cannot be raised; that is not fatal */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            log_warn("cannot raise ambient capability %d: %s", c, strerror(errno));
    }
    return 0;
}
