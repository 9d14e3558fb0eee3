/* A new session keyring for every container process (its first one and each exec), as runc does: kernel keyrings
 * are not namespaced, so a process that kept the runtime's session keyring would see, and could add to, the keys
 * of the host user that started it. */
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

#define KEY_USR_SEARCH 0x00080000

int keyring_join_session(const char *container_id)
{
    char name[300];
    snprintf(name, sizeof name, "_ses.%s", container_id ? container_id : "");
    long key = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name);
    if (key < 0) {
        if (errno == ENOSYS)
            return 0; /* a kernel without keyrings has nothing to leak */
        return err_sys("keyctl join session keyring %s", name);
    }
    /* searchable by its user too, not only by a possessor (runc's permissions): a process that switches to
     * another uid of the same user still finds it. The description is "type;uid;gid;perm;name", perm in hex. */
    char desc[512];
    long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, key, desc, sizeof desc);
    if (n < 0)
        return err_sys("keyctl describe session keyring");
    desc[sizeof desc - 1] = 0;
    const char *p = desc;
    for (int field = 0; field < 3 && p; field++)
        if ((p = strchr(p, ';')))
            p++;
    if (!p)
        return err_msg(1, "keyctl describe session keyring: unexpected \"%s\"", desc);
    unsigned long perm = strtoul(p, NULL, 16);
    if (syscall(SYS_keyctl, KEYCTL_SETPERM, key, perm | KEY_USR_SEARCH) < 0)
        return err_sys("keyctl setperm session keyring");
    return 0;
}
