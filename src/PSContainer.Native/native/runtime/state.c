/* State: ROOT/ID/state.json (written atomically) and ROOT/ID/exec.fifo. No daemon: the status is computed from
 * the process and the fifo each time, and the process is recognised by its start time, not only its pid. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"

const char *g_root = PSC_DEFAULT_ROOT;

bool valid_id(const char *id)
{
    if (!id || !*id || strlen(id) > 200 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_+-.", *p)))
            return false;
    return true;
}

int state_dir(const char *id, char *out, size_t len)
{
    if (!valid_id(id))
        return err_msg(1, "invalid container id \"%s\"", id ? id : "");
    snprintf(out, len, "%s/%s", g_root, id);
    return 0;
}

int state_claim(const char *id)
{
    char dir[PATH_MAX];
    if (state_dir(id, dir, sizeof dir) < 0 || mkdir_p(g_root, 0700) < 0)
        return -1;
    /* mkdir is the atomic claim of the id: two creates of one id cannot both win */
    if (mkdir(dir, 0711) < 0)
        return errno == EEXIST ? err_msg(1, "container with id \"%s\" already exists", id) : err_sys("mkdir %s", dir);
    return 0;
}

/* field 22 of /proc/PID/stat: the start time in clock ticks since boot; 0 when the process is gone or a zombie */
unsigned long long proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (read_file(path, buf, sizeof buf) <= 0)
        return 0;
    char *p = strrchr(buf, ')'); /* comm may contain spaces and parentheses */
    if (!p)
        return 0;
    char state;
    unsigned long long start = 0;
    /* after ") ": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime
     * cstime priority nice num_threads itrealvalue starttime(22) */
    if (sscanf(p + 2, "%c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu", &state,
               &start) != 2)
        return 0;
    if (state == 'Z' || state == 'X')
        return 0;
    return start;
}

int state_write(const struct rt_state *st)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 16], path[PATH_MAX + 16];
    if (state_dir(st->id, dir, sizeof dir) < 0)
        return -1;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(st->id));
    json_object_object_add(o, "pid", json_object_new_int(st->pid));
    json_object_object_add(o, "pidStartTime", json_object_new_uint64(st->start_time));
    json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
    json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
    json_object_object_add(o, "created", json_object_new_string(st->created));
    json_object_object_add(o, "cgroupV2", json_object_new_boolean(st->cg.v2));
    json_object *cgs = json_object_new_object();
    for (size_t i = 0; i < st->cg.n; i++)
        json_object_object_add(cgs, st->cg.ctrl[i], json_object_new_string(st->cg.path[i]));
    json_object_object_add(o, "cgroupPaths", cgs);
    json_object_object_add(o, "annotations", st->annotations ? json_object_get(st->annotations) : json_object_new_object());
    if (st->hooks)
        json_object_object_add(o, "hooks", json_object_get(st->hooks));
    snprintf(tmp, sizeof tmp, "%s/.state.json.tmp", dir);
    snprintf(path, sizeof path, "%s/state.json", dir);
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int r = -1;
    if (fd < 0)
        err_sys("open %s", tmp);
    else if (write_all(fd, s, strlen(s)) < 0) /* no fsync: runtime state lives in tmpfs (/run) and dies with boot */
        err_sys("write %s", tmp);
    else if (rename(tmp, path) < 0)
        err_sys("rename %s", path);
    else
        r = 0;
    if (fd >= 0)
        close(fd);
    json_object_put(o);
    return r;
}

int state_read(const char *id, struct rt_state *st)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    memset(st, 0, sizeof *st);
    if (state_dir(id, dir, sizeof dir) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/state.json", dir);
    if (access(dir, F_OK) < 0)
        return err_msg(1, "container \"%s\" does not exist", id);
    json_object *o = json_object_from_file(path);
    if (!o)
        return err_msg(1, "container \"%s\": cannot read %s", id, path);
    json_object *v;
    snprintf(st->id, sizeof st->id, "%s", id);
    if (json_object_object_get_ex(o, "pid", &v))
        st->pid = json_object_get_int(v);
    if (json_object_object_get_ex(o, "pidStartTime", &v))
        st->start_time = json_object_get_uint64(v);
    if (json_object_object_get_ex(o, "bundle", &v))
        snprintf(st->bundle, sizeof st->bundle, "%s", json_object_get_string(v));
    if (json_object_object_get_ex(o, "rootfs", &v))
        snprintf(st->rootfs, sizeof st->rootfs, "%s", json_object_get_string(v));
    if (json_object_object_get_ex(o, "created", &v))
        snprintf(st->created, sizeof st->created, "%s", json_object_get_string(v));
    if (json_object_object_get_ex(o, "cgroupV2", &v))
        st->cg.v2 = json_object_get_boolean(v);
    if (json_object_object_get_ex(o, "cgroupPaths", &v)) {
        json_object_object_foreach(v, key, val) {
            if (st->cg.n >= CG_MAX)
                break;
            st->cg.ctrl[st->cg.n] = strdup(key);
            st->cg.path[st->cg.n] = strdup(json_object_get_string(val));
            st->cg.n++;
        }
    }
    if (json_object_object_get_ex(o, "annotations", &v))
        st->annotations = json_object_get(v);
    if (json_object_object_get_ex(o, "hooks", &v))
        st->hooks = json_object_get(v);
    json_object_put(o);
    return 0;
}

static int remove_tree(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(fd, e->d_name, 0) < 0 && errno == EISDIR)
            remove_tree(fd, e->d_name);
    }
    closedir(d);
    return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

int state_remove(const char *id)
{
    char dir[PATH_MAX];
    if (state_dir(id, dir, sizeof dir) < 0)
        return -1;
    if (remove_tree(AT_FDCWD, dir) < 0)
        return err_sys("remove %s", dir);
    return 0;
}

const char *state_status(const struct rt_state *st)
{
    if (st->pid <= 0 || proc_start_time(st->pid) != st->start_time || st->start_time == 0)
        return "stopped";
    char fifo[PATH_MAX];
    snprintf(fifo, sizeof fifo, "%s/%s/exec.fifo", g_root, st->id);
    if (access(fifo, F_OK) == 0)
        return "created";
    return cgroup_is_frozen(&st->cg) == 1 ? "paused" : "running";
}
