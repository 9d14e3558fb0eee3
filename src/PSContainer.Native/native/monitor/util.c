/* Small helpers: RFC3339Nano timestamps, full writes, JSON string escaping, small file reads. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *put_num(char *p, unsigned long v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* 2026-11-28T06:06:02.123456789Z (always nine fraction digits, so lines sort and parse alike) */
size_t fmt_time(const struct timespec *ts, char out[40])
{
    struct tm tm;
    time_t t = ts->tv_sec;
    gmtime_r(&t, &tm);
    char *p = out;
    p = put_num(p, (unsigned long)tm.tm_year + 1900, 4); *p++ = '-';
    p = put_num(p, (unsigned long)tm.tm_mon + 1, 2);     *p++ = '-';
    p = put_num(p, (unsigned long)tm.tm_mday, 2);        *p++ = 'T';
    p = put_num(p, (unsigned long)tm.tm_hour, 2);        *p++ = ':';
    p = put_num(p, (unsigned long)tm.tm_min, 2);         *p++ = ':';
    p = put_num(p, (unsigned long)tm.tm_sec, 2);         *p++ = '.';
    p = put_num(p, (unsigned long)ts->tv_nsec, 9);       *p++ = 'Z';
    *p = 0;
    return (size_t)(p - out);
}

size_t fmt_time_now(char out[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return fmt_time(&ts, out);
}

/* Escapes src as the inside of a JSON string; always NUL-terminates; truncates to fit. */
size_t json_escape(char *dst, size_t cap, const char *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        char esc[7];
        size_t n = 0;
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; n = 2; }
        else if (c == '\n') { esc[0] = '\\'; esc[1] = 'n'; n = 2; }
        else if (c == '\t') { esc[0] = '\\'; esc[1] = 't'; n = 2; }
        else if (c == '\r') { esc[0] = '\\'; esc[1] = 'r'; n = 2; }
        else if (c < 0x20 || c == 0x7f) {
            memcpy(esc, "\\u00", 4); esc[4] = hex[c >> 4]; esc[5] = hex[c & 15]; n = 6;
        } else { esc[0] = (char)c; n = 1; }
        if (o + n + 1 > cap)
            break;
        memcpy(dst + o, esc, n);
        o += n;
    }
    if (cap)
        dst[o] = 0;
    return o;
}

ssize_t read_small_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = 0;
    return (ssize_t)len;
}

char *absolute_path(const char *p)
{
    if (!p || !*p)
        return NULL;
    if (p[0] == '/')
        return strdup(p);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return NULL;
    size_t a = strlen(cwd), b = strlen(p);
    char *r = malloc(a + b + 2);
    if (!r)
        return NULL;
    memcpy(r, cwd, a);
    r[a] = '/';
    memcpy(r + a + 1, p, b + 1);
    return r;
}
