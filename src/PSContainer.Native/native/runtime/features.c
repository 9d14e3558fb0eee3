/* `features`: what this runtime implements, as runtime-spec features.md describes it (runc's output shape). */
#include <stdio.h>
#include <string.h>

#include "runtime.h"

static json_object *strings(const char *const *v, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    return a;
}

#define STRINGS(v) strings(v, sizeof v / sizeof *v)

int cmd_features(void)
{
    static const char *const hooks[] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                                        "poststop"};
    static const char *const mount_options[] = {
        "async", "atime", "bind", "dev", "diratime", "dirsync", "exec", "mand", "noatime", "nodev", "nodiratime",
        "noexec", "nomand", "norelatime", "nostrictatime", "nosuid", "private", "rbind", "relatime", "remount", "ro",
        "rprivate", "rshared", "rslave", "runbindable", "rw", "shared", "slave", "strictatime", "suid", "sync",
        "unbindable"};
    static const char *const namespaces[] = {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"};
    static const char *const caps[] = {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};

    json_object *o = json_object_new_object();
    json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
    json_object_object_add(o, "ociVersionMax", json_object_new_string(PSC_OCI_VERSION));
    json_object_object_add(o, "hooks", STRINGS(hooks));
    json_object_object_add(o, "mountOptions", STRINGS(mount_options));

    json_object *lx = json_object_new_object();
    json_object_object_add(lx, "namespaces", STRINGS(namespaces));
    json_object_object_add(lx, "capabilities", STRINGS(caps));
    json_object *cg = json_object_new_object();
    json_object_object_add(cg, "v1", json_object_new_boolean(1));
    json_object_object_add(cg, "v2", json_object_new_boolean(1));
    json_object_object_add(cg, "systemd", json_object_new_boolean(0));
    json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
    json_object_object_add(cg, "rdma", json_object_new_boolean(0));
    json_object_object_add(lx, "cgroup", cg);
    json_object_object_add(lx, "seccomp", seccomp_features());
    /* labels are applied where the host runs the module (lsm.c), refused elsewhere */
    json_object *aa = json_object_new_object();
    json_object_object_add(aa, "enabled", json_object_new_boolean(lsm_apparmor_enabled()));
    json_object_object_add(lx, "apparmor", aa);
    json_object *se = json_object_new_object();
    json_object_object_add(se, "enabled", json_object_new_boolean(lsm_selinux_enabled()));
    json_object_object_add(lx, "selinux", se);
    json_object *im = json_object_new_object();
    json_object_object_add(im, "enabled", json_object_new_boolean(0));
    json_object_object_add(lx, "intelRdt", im);
    json_object_object_add(o, "linux", lx);

    json_object *ann = json_object_new_object();
    json_object_object_add(ann, "io.github.pscontainer.runtime.version", json_object_new_string(PSC_VERSION));
    json_object_object_add(ann, "org.opencontainers.runtime-spec.features.version", json_object_new_string(PSC_OCI_VERSION));
    json_object_object_add(o, "annotations", ann);

    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return 0;
}
