/* Error reporting: one line on stderr ("psc-runtime: ..."), and a record in --log (text or json). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

struct rt_error g_err = {1, ""};
static int log_fd = -1;
static bool log_json;

int err_sys(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g_err.msg, sizeof g_err.msg, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof g_err.msg)
        n = (int)strlen(g_err.msg);
    snprintf(g_err.msg + n, sizeof g_err.msg - (size_t)n, ": %s (errno %d)", strerror(saved), saved);
    g_err.code = 1;
    errno = saved;
    return -1;
}

int err_msg(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err.msg, sizeof g_err.msg, fmt, ap);
    va_end(ap);
    g_err.code = code;
    return -1;
}

int log_open(const char *path, const char *format)
{
    log_json = format && strcmp(format, "json") == 0;
    if (!path)
        return 0;
    log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (log_fd < 0)
        return err_sys("open log %s", path);
    return 0;
}

static void log_record(const char *level, const char *msg)
{
    if (log_fd < 0)
        return;
    char now[64];
    rfc3339_now(now, sizeof now);
    if (log_json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "level", json_object_new_string(level));
        json_object_object_add(o, "msg", json_object_new_string(msg));
        json_object_object_add(o, "time", json_object_new_string(now));
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        dprintf(log_fd, "%s\n", s);
        json_object_put(o);
    } else {
        dprintf(log_fd, "time=\"%s\" level=%s msg=\"%s\"\n", now, level, msg);
    }
}

void log_error(const char *msg)
{
    dprintf(STDERR_FILENO, "psc-runtime: %s\n", msg);
    log_record("error", msg);
}

void log_warn(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_record("warning", msg);
}
