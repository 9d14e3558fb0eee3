/* OOM detection: the cgroup's oom_kill counter, read when the container was created and when it exited.
 *   cgroup v2: <mnt>/<path>/memory.events          "oom_kill N"
 *   cgroup v1: <mnt>/memory/<path>/memory.oom_control "oom_kill N"
 * v2 (unified) is detected by <mnt>/cgroup.controllers. The path comes from --cgroup-path, or else (or when
 * that file is missing, e.g. a systemd-style "slice:prefix:name") from /proc/PID/cgroup of the container. */
#include "monitor.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CGROUP_MNT "/sys/fs/cgroup"

static char counter_file[PATH_MAX];

static bool unified(void) { return access(CGROUP_MNT "/cgroup.controllers", F_OK) == 0; }

static void make_path(const char *cg)
{
    bool v2 = unified();
    const char *file = v2 ? "memory.events" : "memory.oom_control";
    if (strncmp(cg, CGROUP_MNT "/", sizeof CGROUP_MNT) == 0) /* already a full path */
        snprintf(counter_file, sizeof counter_file, "%s/%s", cg, file);
    else
        snprintf(counter_file, sizeof counter_file, "%s%s%s%s/%s", CGROUP_MNT, v2 ? "" : "/memory",
                 cg[0] == '/' ? "" : "/", cg, file);
}

/* The memory cgroup of pid from /proc/PID/cgroup: "0::/path" (v2) or "N:...memory...:/path" (v1). */
static bool cgroup_of(pid_t pid, char *out, size_t cap)
{
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    if (read_small_file(path, text, sizeof text) <= 0)
        return false;
    bool v2 = unified();
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        const char *ctrls = c1 + 1;
        bool match = false;
        if (v2)
            match = strcmp(line, "0:") == 0 || (line[0] == '0' && c1 == line + 1 && !*ctrls);
        else
            for (const char *t = ctrls; (t = strstr(t, "memory")) != NULL; t += 6)
                if ((t == ctrls || t[-1] == ',') && (t[6] == 0 || t[6] == ','))
                    match = true;
        if (match) {
            snprintf(out, cap, "%s", c2 + 1);
            return true;
        }
    }
    return false;
}

void oom_setup(const char *cgroup_path, pid_t pid)
{
    counter_file[0] = 0;
    if (cgroup_path && *cgroup_path) {
        make_path(cgroup_path);
        if (access(counter_file, R_OK) == 0)
            return;
    }
    char cg[PATH_MAX];
    if (pid > 0 && cgroup_of(pid, cg, sizeof cg))
        make_path(cg);
}

/* The oom_kill count, or -1 when it cannot be read. */
long oom_count(void)
{
    char text[1024];
    if (!counter_file[0] || read_small_file(counter_file, text, sizeof text) <= 0)
        return -1;
    for (char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, "oom_kill ", 9) == 0)
            return strtol(p + 9, NULL, 10);
    return -1;
}
