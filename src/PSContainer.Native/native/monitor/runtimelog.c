/* The runtime's error text, from its `--log FILE --log-format json` records:
 *   {"level":"error","msg":"...","time":"..."}   (runc, crun and psc-runtime write this shape)
 * The message of the last error record wins (the last record of any level if there is no error record). */
#include "monitor.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *runtime_log_make(const char *exit_file, char *log)
{
    int fd = -1;
    if (snprintf(log, PATH_MAX, "%s.runtime-log.XXXXXX", exit_file) < PATH_MAX)
        fd = mkostemp(log, O_CLOEXEC);
    if (fd < 0) {
        snprintf(log, PATH_MAX, "/tmp/psc-monitor-runtime-log.XXXXXX");
        fd = mkostemp(log, O_CLOEXEC);
    }
    if (fd < 0) {
        log[0] = 0;
        return NULL;
    }
    close(fd);
    return log;
}

/* Decodes the JSON string starting after the opening quote at p; returns bytes written to out. */
static size_t json_unescape(const char *p, char *out, size_t cap)
{
    size_t o = 0;
    while (*p && *p != '"' && o + 1 < cap) {
        char c = *p++;
        if (c == '\\' && *p) {
            char e = *p++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                unsigned v = 0;
                int k = 0;
                for (; k < 4 && p[k]; k++) {
                    char h = p[k];
                    v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : (h | 32) >= 'a' && (h | 32) <= 'f' ? (h | 32) - 'a' + 10 : 0);
                }
                p += k;
                if (v < 0x80) {
                    c = (char)v;
                } else if (v < 0x800) { /* two-byte UTF-8; larger code points are rare in error text */
                    if (o + 2 >= cap)
                        goto done;
                    out[o++] = (char)(0xc0 | (v >> 6));
                    c = (char)(0x80 | (v & 0x3f));
                } else {
                    if (o + 3 >= cap)
                        goto done;
                    out[o++] = (char)(0xe0 | (v >> 12));
                    out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
                    c = (char)(0x80 | (v & 0x3f));
                }
                break;
            }
            default: c = e; break; /* \" \\ \/ */
            }
        }
        out[o++] = c;
    }
done:
    out[o] = 0;
    return o;
}

static const char *field(const char *line, const char *end, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = line; p + kl < end; p++)
        if (memcmp(p, key, kl) == 0)
            return p + kl;
    return NULL;
}

size_t runtime_error_from_log(const char *log_file, char *out, size_t cap)
{
    static char text[16384];
    out[0] = 0;
    if (!log_file)
        return 0;
    ssize_t len = read_small_file(log_file, text, sizeof text);
    if (len <= 0)
        return 0;
    size_t got = 0;
    bool got_error = false;
    for (char *line = text; line < text + len;) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        if (!end)
            end = text + len;
        *end = 0;
        const char *msg = field(line, end, "\"msg\":\"");
        if (msg) {
            const char *lvl = field(line, end, "\"level\":\"");
            bool is_error = lvl && (strncmp(lvl, "error", 5) == 0 || strncmp(lvl, "fatal", 5) == 0);
            if (is_error || !got_error) {
                got = json_unescape(msg, out, cap);
                got_error = got_error || is_error;
            }
        }
        line = end + 1;
    }
    return got;
}
