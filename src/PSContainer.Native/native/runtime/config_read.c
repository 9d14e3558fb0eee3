/* config.json with linux.seccomp kept as its raw text.
 *
 * Docker's default profile is ~12 KB of a ~13 KB config.json; json-c turning it into ~1000 objects, and the
 * re-serialisation that keyed the program cache, cost a container's run ~0.4 ms (on this kind of VM mostly page
 * faults of the heap the objects take). The compiled program is cached by the exact profile text (seccomp.c), so on
 * a hit the profile need not be parsed at all: a small strict scanner finds the bytes of the linux.seccomp object,
 * json-c parses the rest of the file with `null` in its place (fed in three pieces to one tokener, so nothing is
 * copied), and seccomp_prepare gets the bytes; only a cache miss parses them (and must consume exactly them).
 *
 * The scanner only takes what json-c and plain JSON read alike: double-quoted strings, {}[],: and bare scalars.
 * Anything else — comments and single quotes (json-c accepts them), escapes in a key, a NUL, "linux" or "seccomp"
 * given twice (json-c keeps the last), a seccomp value that is not an object, deep nesting, or a file json-c then
 * refuses — falls back to the whole-file parse, with the profile re-serialised as its text, as before. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"

#define MAX_DEPTH 64

struct scan {
    const char *p, *end;
    int depth;
    int n_linux, n_seccomp;       /* how often each key was seen where it matters */
    const char *sc_start, *sc_end; /* the linux.seccomp object */
};

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* a double-quoted string; *ESCAPED tells whether it had a backslash (a key with one is not compared) */
static bool string(struct scan *s, bool *escaped)
{
    *escaped = false;
    for (s->p++; s->p < s->end; s->p++) {
        if (*s->p == '\\') {
            *escaped = true;
            s->p++;
        } else if (*s->p == '"') {
            s->p++;
            return true;
        }
    }
    return false;
}

static bool is_scalar_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '+' ||
           c == '.';
}

/* LEVEL: 0 the top object, 1 the top-level "linux" object, -1 anywhere else */
static bool value(struct scan *s, int level);

static bool object(struct scan *s, int level)
{
    if (++s->depth > MAX_DEPTH)
        return false;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        if (s->p >= s->end || *s->p != '"')
            return false;
        const char *key = s->p + 1;
        bool escaped;
        if (!string(s, &escaped))
            return false;
        size_t klen = (size_t)(s->p - 1 - key);
        if (escaped && level >= 0)
            return false; /* "\u006cinux" is "linux" to json-c: not worth decoding */
        bool is_linux = level == 0 && klen == 5 && memcmp(key, "linux", 5) == 0;
        bool is_seccomp = level == 1 && klen == 7 && memcmp(key, "seccomp", 7) == 0;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return false;
        s->p++;
        skip_ws(s);
        if (is_linux && ++s->n_linux > 1)
            return false;
        if (is_seccomp) {
            if (++s->n_seccomp > 1 || s->p >= s->end || *s->p != '{')
                return false;
            s->sc_start = s->p;
        }
        if (!value(s, is_linux ? 1 : -1))
            return false;
        if (is_seccomp)
            s->sc_end = s->p;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            s->depth--;
            return true;
        }
        return false;
    }
}

static bool array(struct scan *s)
{
    if (++s->depth > MAX_DEPTH)
        return false;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        if (!value(s, -1))
            return false;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            s->depth--;
            return true;
        }
        return false;
    }
}

static bool value(struct scan *s, int level)
{
    if (s->p >= s->end)
        return false;
    bool escaped;
    switch (*s->p) {
    case '{':
        return object(s, level);
    case '[':
        return array(s);
    case '"':
        return string(s, &escaped);
    default:
        if (!is_scalar_char(*s->p))
            return false;
        while (s->p < s->end && is_scalar_char(*s->p))
            s->p++;
        return true;
    }
}

static char *read_all(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < (64 << 20) &&
        (buf = malloc((size_t)st.st_size))) {
        ssize_t n = read(fd, buf, (size_t)st.st_size);
        if (n != st.st_size) { /* short or changed underneath: the slow path reads it its own way */
            free(buf);
            buf = NULL;
        }
        *len = (size_t)st.st_size;
    }
    close(fd);
    return buf;
}

/* the whole file parsed with `null` for the span [A, B) (with A == B == the end, just the file) */
static json_object *parse_without(const char *buf, size_t len, const char *a, const char *b)
{
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return NULL;
    json_object *o = json_tokener_parse_ex(tok, buf, (int)(a - buf));
    if (!o && a != b && json_tokener_get_error(tok) == json_tokener_continue)
        o = json_tokener_parse_ex(tok, "null", 4);
    if (!o && a != b && json_tokener_get_error(tok) == json_tokener_continue)
        o = json_tokener_parse_ex(tok, b, (int)(buf + len - b));
    json_tokener_free(tok);
    return o;
}

json_object *config_read(const char *path, const char **seccomp, size_t *seccomp_len)
{
    *seccomp = NULL;
    *seccomp_len = 0;
    size_t len = 0;
    char *buf = read_all(path, &len);
    if (buf && len < INT32_MAX && !memchr(buf, 0, len)) {
        struct scan s = {.p = buf, .end = buf + len};
        skip_ws(&s);
        if (s.p < s.end && *s.p == '{' && object(&s, 0)) {
            /* no profile: the file in one piece, as json_object_from_file would parse it */
            const char *a = s.sc_start ? s.sc_start : buf + len, *b = s.sc_end ? s.sc_end : buf + len;
            json_object *o = parse_without(buf, len, a, b);
            if (o) {
                *seccomp = s.sc_start; /* BUF stays allocated for as long as the process needs the text */
                *seccomp_len = (size_t)(b - a);
                if (!s.sc_start)
                    free(buf);
                return o;
            }
        }
    }
    free(buf);
    json_object *o = json_object_from_file(path), *linux_ = NULL, *sc = NULL;
    if (o && json_object_object_get_ex(o, "linux", &linux_) && json_object_is_type(linux_, json_type_object) &&
        json_object_object_get_ex(linux_, "seccomp", &sc) && sc) {
        size_t n = 0;
        *seccomp = json_object_to_json_string_length(sc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        *seccomp_len = n;
    }
    return o;
}
