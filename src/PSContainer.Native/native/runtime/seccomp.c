/* linux.seccomp with libseccomp (linked statically).
 *
 * The filter is compiled by the runtime before it forks the container's process (a bad profile fails `create` or
 * `exec` in the runtime, with the parent's error path), and the child, which has a copy of the compiled context,
 * only loads it. When is it loaded:
 *   - noNewPrivileges off: a filter can only be loaded with CAP_SYS_ADMIN, so before the capabilities are dropped
 *     (seccomp_load_early, at the start of process_become), as runc does;
 *   - noNewPrivileges on: as late as possible (seccomp_load_late, right before execve), so the runtime's own last
 *     steps are not filtered.
 * Rules follow runc's reading of the spec: syscall names this libseccomp does not know are skipped (a profile may
 * list calls newer than the library), a rule whose action is the default action is skipped, several conditions on
 * one argument become one rule per condition (libseccomp cannot AND them), and anything else we cannot honour —
 * an unknown action, operator, architecture or flag — is an error. SCMP_ACT_NOTIFY rules load the filter with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER and hand the listener to the seccomp agent at listenerPath (seccomp_notify.c). As in runc, syscall numbers above
 * the largest one the profile names get ENOSYS instead of a denying default action (seccomp_enosys.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

/* The compiled filter, made by seccomp_prepare before the fork; the child inherits the memory and loads it with
 * seccomp(2). libseccomp's compile and BPF generation of Docker's ~400 rules for three architectures take tens of
 * milliseconds, so the generated program (with the ENOSYS stub of seccomp_enosys.c in front) is kept in
 * ROOT/.seccomp-cache/, keyed by the exact profile text (the bytes of linux.seccomp as config.json has them, see
 * config_read.c) and this build: the next container with the same profile loads it without parsing the profile or
 * running libseccomp (see cache_read/cache_write). */
static struct sock_filter *g_prog;
static unsigned short g_prog_len;
static void *g_map;                /* the cache file the program is read from, or NULL when g_prog is malloc'd */
static size_t g_map_len;
static unsigned g_prog_flags;      /* SECCOMP_FILTER_FLAG_* from the spec's flags */
static bool g_filter_nnp;          /* the process asked for no_new_privs: load late */
static bool g_loaded;
static bool g_notify_rule;         /* compile: a rule's action is SCMP_ACT_NOTIFY */

/* 3: keyed by the raw profile text, with the kernel flags, the program 8-byte aligned; other versions are a miss */
#define CACHE_MAGIC "PSCBPF3\n"
/* what else decides the program: this build and libseccomp */
#define CACHE_BUILD PSC_VERSION " " __DATE__ " " __TIME__ " " CACHE_STR(SCMP_VER_MAJOR) "." CACHE_STR(SCMP_VER_MINOR) \
    "." CACHE_STR(SCMP_VER_MICRO) "\n"
#define CACHE_STR(x) CACHE_STR2(x)
#define CACHE_STR2(x) #x

/* file: magic, u32 kernel flags, u32 key length, key (CACHE_BUILD + profile text), zeros to a multiple of 8,
 * program (struct sock_filter[]) to the end */
struct cache_head {
    char magic[sizeof CACHE_MAGIC - 1];
    uint32_t flags;
    uint32_t key_len;
};

static size_t prog_offset(size_t key_len)
{
    return (sizeof(struct cache_head) + key_len + 7) & ~(size_t)7;
}

static void cache_path(const char *text, size_t len, char *out, size_t out_len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a names the file; the key inside is compared in full */
    for (const unsigned char *p = (const unsigned char *)CACHE_BUILD; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)text[i]) * 1099511628211ULL;
    snprintf(out, out_len, "%s/.seccomp-cache/%016llx.bpf", g_root, (unsigned long long)h);
}

/* The program is used in place in a private read-only mapping: populated at once, it costs no page faults (each
 * one costs ~13 us on this kind of VM), where a read into fresh heap and a copy took ~0.2 ms. Only this euid writes
 * the directory and files are replaced by rename, never truncated, so the mapping cannot shrink underneath. */
static bool cache_read(const char *text, size_t len)
{
    char path[PATH_MAX];
    cache_path(text, len, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    struct stat st;
    size_t blen = sizeof CACHE_BUILD - 1, off = prog_offset(blen + len);
    void *m = MAP_FAILED;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && (size_t)st.st_size > off &&
              ((size_t)st.st_size - off) % sizeof(struct sock_filter) == 0 &&
              ((size_t)st.st_size - off) / sizeof(struct sock_filter) <= BPF_MAXINSNS &&
              (m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0)) != MAP_FAILED;
    close(fd);
    if (!ok)
        return false;
    const struct cache_head *h = m;
    const char *key = (const char *)(h + 1);
    if (memcmp(h->magic, CACHE_MAGIC, sizeof h->magic) != 0 || h->key_len != blen + len ||
        memcmp(key, CACHE_BUILD, blen) != 0 || memcmp(key + blen, text, len) != 0) {
        munmap(m, (size_t)st.st_size);
        return false;
    }
    g_map = m;
    g_map_len = (size_t)st.st_size;
    g_prog = (struct sock_filter *)((char *)m + off);
    g_prog_len = (unsigned short)(((size_t)st.st_size - off) / sizeof(struct sock_filter));
    g_prog_flags = h->flags;
    return true;
}

/* best effort: a runtime root we cannot write to only costs the next container a compile */
static void cache_write(const char *text, size_t len)
{
    char path[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX + 32];
    cache_path(text, len, path, sizeof path);
    snprintf(dir, sizeof dir, "%s/.seccomp-cache", g_root);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return;
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    size_t blen = sizeof CACHE_BUILD - 1, pad = prog_offset(blen + len) - sizeof(struct cache_head) - blen - len;
    struct cache_head h = {.flags = g_prog_flags, .key_len = (uint32_t)(blen + len)};
    memcpy(h.magic, CACHE_MAGIC, sizeof h.magic);
    static const char zeros[8];
    bool ok = write_all(fd, &h, sizeof h) == 0 && write_all(fd, CACHE_BUILD, blen) == 0 &&
              write_all(fd, text, len) == 0 && write_all(fd, zeros, pad) == 0 &&
              write_all(fd, g_prog, g_prog_len * sizeof *g_prog) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) < 0)
        unlink(tmp);
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
        return v;
    return NULL;
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static size_t array_len(json_object *a)
{
    return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* the action a profile names; errno_ret (or EPERM when absent) goes into ERRNO and TRACE */
static int parse_action(const char *name, json_object *errno_ret, uint32_t *out)
{
    if (!name)
        return err_msg(1, "linux.seccomp: an action is required");
    bool has_ret = errno_ret != NULL;
    uint32_t ret = has_ret ? (uint32_t)json_object_get_int64(errno_ret) : EPERM;
    if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
        *out = SCMP_ACT_ERRNO(ret);
    else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
        *out = SCMP_ACT_TRACE(ret);
    else if (has_ret)
        return err_msg(1, "linux.seccomp: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", name);
    else if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
        *out = SCMP_ACT_ALLOW;
    else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
        *out = SCMP_ACT_KILL_THREAD;
    else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
        *out = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
        *out = SCMP_ACT_TRAP;
    else if (strcmp(name, "SCMP_ACT_LOG") == 0)
        *out = SCMP_ACT_LOG;
    else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
        *out = SCMP_ACT_NOTIFY;
    else
        return err_msg(1, "linux.seccomp: unknown action \"%s\"", name);
    return 0;
}

static int parse_op(const char *name, enum scmp_compare *out)
{
    static const struct { const char *name; enum scmp_compare op; } ops[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    };
    for (size_t i = 0; name && i < sizeof ops / sizeof *ops; i++)
        if (strcmp(name, ops[i].name) == 0) {
            *out = ops[i].op;
            return 0;
        }
    return err_msg(1, "linux.seccomp: unknown operator \"%s\"", name ? name : "");
}

static int add_arch(scmp_filter_ctx ctx, const char *name, uint32_t *token)
{
    char lower[64];
    if (!name || strncmp(name, "SCMP_ARCH_", 10) != 0 || strlen(name + 10) >= sizeof lower)
        return err_msg(1, "linux.seccomp: unknown architecture \"%s\"", name ? name : "");
    size_t i = 0;
    for (const char *p = name + 10; *p; p++)
        lower[i++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    lower[i] = 0;
    uint32_t arch = seccomp_arch_resolve_name(lower);
    if (arch == 0)
        return err_msg(1, "linux.seccomp: unknown architecture \"%s\"", name);
    *token = arch;
    int r = seccomp_arch_add(ctx, arch);
    if (r < 0 && r != -EEXIST)
        return err_msg(1, "linux.seccomp: architecture %s: %s", name, strerror(-r));
    return 0;
}

/* the spec's flags as seccomp(2) flags; with CTX (a compile), also checked against what libseccomp and the kernel take */
static int set_flags(scmp_filter_ctx ctx, json_object *flags, unsigned *kernel_flags)
{
    *kernel_flags = 0;
    for (size_t i = 0; i < array_len(flags); i++) {
        const char *f = json_object_get_string(json_object_array_get_idx(flags, i));
        enum scmp_filter_attr attr;
        if (f && strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
            attr = SCMP_FLTATR_CTL_TSYNC, *kernel_flags |= SECCOMP_FILTER_FLAG_TSYNC;
        else if (f && strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0)
            attr = SCMP_FLTATR_CTL_LOG, *kernel_flags |= SECCOMP_FILTER_FLAG_LOG;
        else if (f && strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
            attr = SCMP_FLTATR_CTL_SSB, *kernel_flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        else if (f && strcmp(f, "SECCOMP_FILTER_FLAG_NEW_LISTENER") == 0) { /* implied by SCMP_ACT_NOTIFY (compile) */
            *kernel_flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
            continue;
        } else if (f && strcmp(f, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0) { /* kernel only, not libseccomp */
            *kernel_flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
            continue;
        } else
            return err_msg(1, "linux.seccomp: unsupported flag \"%s\"", f ? f : "");
        int r = ctx ? seccomp_attr_set(ctx, attr, 1) : 0;
        if (r < 0)
            return err_msg(1, "linux.seccomp: flag %s: %s (kernel or libseccomp too old)", f, strerror(-r));
    }
    return 0;
}

/* one syscalls[] entry: its names, action and argument conditions */
static int add_rule(scmp_filter_ctx ctx, json_object *rule, uint32_t default_action)
{
    uint32_t action;
    if (parse_action(get_str(rule, "action"), get(rule, "errnoRet"), &action) < 0)
        return -1;
    if (action == SCMP_ACT_NOTIFY && seccomp_notify_check_rule(get(rule, "names"), get_str(rule, "name")) < 0)
        return -1;
    g_notify_rule |= action == SCMP_ACT_NOTIFY;
    json_object *args = get(rule, "args");
    size_t nargs = array_len(args);
    if (nargs > 6)
        return err_msg(1, "linux.seccomp: a rule has %zu argument conditions; a syscall has at most 6", nargs);
    struct scmp_arg_cmp cmp[6];
    bool same_index = false;
    for (size_t i = 0; i < nargs; i++) {
        json_object *a = json_object_array_get_idx(args, i);
        json_object *idx = get(a, "index");
        if (!idx || json_object_get_int64(idx) < 0 || json_object_get_int64(idx) > 5)
            return err_msg(1, "linux.seccomp: argument index must be 0 to 5");
        cmp[i].arg = (unsigned)json_object_get_int64(idx);
        if (parse_op(get_str(a, "op"), &cmp[i].op) < 0)
            return -1;
        /* for SCMP_CMP_MASKED_EQ value is the mask and valueTwo the value compared, as libseccomp takes them */
        cmp[i].datum_a = (scmp_datum_t)json_object_get_uint64(get(a, "value"));
        cmp[i].datum_b = (scmp_datum_t)json_object_get_uint64(get(a, "valueTwo"));
        for (size_t k = 0; k < i; k++)
            same_index |= cmp[k].arg == cmp[i].arg;
    }
    if (action == default_action)
        return 0; /* libseccomp refuses such a rule; it changes nothing */
    json_object *names = get(rule, "names");
    size_t nnames = array_len(names);
    const char *single = get_str(rule, "name"); /* the pre-1.0 spelling */
    for (size_t n = 0; n < (single ? 1 : nnames); n++) {
        const char *name = single ? single : json_object_get_string(json_object_array_get_idx(names, n));
        int nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
        if (nr == __NR_SCMP_ERROR)
            continue; /* newer than this libseccomp, or of another architecture: skipped, as runc does */
        int r = 0;
        if (same_index) {
            for (size_t i = 0; i < nargs && r == 0; i++)
                r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);
        } else {
            r = seccomp_rule_add_array(ctx, action, nr, (unsigned)nargs, cmp);
        }
        if (r < 0)
            return err_msg(1, "linux.seccomp: rule for %s: %s", name, strerror(-r));
    }
    return 0;
}

/* libseccomp's program for CTX, through a memfd (2.5 exports only to a descriptor) */
static int export_program(scmp_filter_ctx ctx)
{
    int fd = memfd_create("psc-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return err_sys("memfd_create");
    int r = seccomp_export_bpf(ctx, fd);
    off_t size = lseek(fd, 0, SEEK_END);
    if (r < 0 || size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
        size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
        close(fd);
        return err_msg(1, "linux.seccomp: generating the filter failed (%s, %lld bytes)", strerror(r < 0 ? -r : EINVAL),
                       (long long)size);
    }
    g_prog = malloc((size_t)size);
    if (!g_prog)
        abort();
    ssize_t n = pread(fd, g_prog, (size_t)size, 0);
    close(fd);
    if (n != size)
        return err_sys("read the seccomp filter");
    g_prog_len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
    return 0;
}

static int compile(json_object *sc)
{
    uint32_t def;
    if (parse_action(get_str(sc, "defaultAction"), get(sc, "defaultErrnoRet"), &def) < 0)
        return -1;
    if (def == SCMP_ACT_NOTIFY) /* as runc: the runtime's own last calls would wait for an agent not yet told */
        return err_msg(1, "linux.seccomp: SCMP_ACT_NOTIFY cannot be the default action");
    scmp_filter_ctx ctx = seccomp_init(def);
    if (!ctx)
        return err_msg(1, "linux.seccomp: seccomp_init failed");
    /* libseccomp sets no_new_privs on load unless told not to: that is the spec's decision, not the filter's (we load
     * the program ourselves, but the attribute also keeps the generated program free of that assumption) */
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    /* A binary tree of syscall numbers instead of libseccomp's default linear list: the same decisions, but the
     * kernel walks the program for every syscall number of every architecture when it loads it (to find the calls
     * it can allow without running the filter), and a walk through ~400 rules made that load cost over 1 ms */
    if (r == 0)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (r < 0) {
        seccomp_release(ctx);
        return err_msg(1, "linux.seccomp: %s", strerror(-r));
    }
    unsigned flags;
    json_object *arches = get(sc, "architectures"), *rules = get(sc, "syscalls");
    size_t ntokens = array_len(arches);
    uint32_t tokens[32];
    if (ntokens > sizeof tokens / sizeof *tokens) {
        seccomp_release(ctx);
        return err_msg(1, "linux.seccomp: %zu architectures; at most %zu", ntokens, sizeof tokens / sizeof *tokens);
    }
    for (size_t i = 0; i < ntokens; i++)
        if (add_arch(ctx, json_object_get_string(json_object_array_get_idx(arches, i)), &tokens[i]) < 0)
            goto fail;
    if (set_flags(ctx, get(sc, "flags"), &flags) < 0)
        goto fail;
    g_notify_rule = false;
    for (size_t i = 0; i < array_len(rules); i++)
        if (add_rule(ctx, json_object_array_get_idx(rules, i), def) < 0)
            goto fail;
    if (seccomp_notify_flags(sc, g_notify_rule, &g_prog_flags) < 0)
        goto fail;
    r = export_program(ctx);
    seccomp_release(ctx);
    /* what libseccomp cannot say: calls newer than the profile get ENOSYS, not the default action */
    if (r == 0 && seccomp_enosys_patch(sc, def, tokens, ntokens, &g_prog, &g_prog_len) < 0) {
        free(g_prog);
        g_prog = NULL;
        g_prog_len = 0;
        r = -1;
    }
    return r;
fail:
    seccomp_release(ctx);
    return -1;
}

static void release_program(void)
{
    if (g_map)
        munmap(g_map, g_map_len);
    else
        free(g_prog);
    g_map = NULL;
    g_prog = NULL;
    g_prog_len = 0;
}

/* a cache miss: the profile's text parsed (it must be exactly one JSON object), checked and compiled */
static int compile_text(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new();
    if (!tok)
        abort();
    json_object *sc = len <= INT32_MAX ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    /* the scanner of config_read.c takes some text json-c refuses (e.g. a bad literal): that is an error here */
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    bool whole = sc && json_tokener_get_parse_end(tok) == len;
    json_tokener_free(tok);
    int r = -1;
    if (!sc && jerr != json_tokener_continue && jerr != json_tokener_success)
        err_msg(1, "config.json: linux.seccomp is not valid JSON: %s", json_tokener_error_desc(jerr));
    else if (!whole || !json_object_is_type(sc, json_type_object))
        err_msg(1, "linux.seccomp must be an object");
    else if (set_flags(NULL, get(sc, "flags"), &g_prog_flags) == 0)
        r = compile(sc);
    json_object_put(sc);
    return r;
}

int seccomp_prepare(const char *text, size_t len, bool no_new_privs)
{
    release_program();
    g_loaded = false;
    g_prog_flags = 0;
    if (!text)
        return 0;
    if (!cache_read(text, len)) {
        if (compile_text(text, len) < 0)
            return -1;
        cache_write(text, len);
    }
    g_filter_nnp = no_new_privs;
    /* the agent's address comes from the text, on a cache hit too (only profiles with a listener pay the parse) */
    return g_prog_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER ? seccomp_notify_configure(text, len) : 0;
}

static int load(void)
{
    struct sock_fprog prog = {g_prog_len, g_prog};
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, g_prog_flags, &prog);
    if (r < 0)
        return err_sys("load the seccomp filter (%u instructions, flags %#x)", g_prog_len, g_prog_flags);
    g_loaded = true;
    /* with NEW_LISTENER the result is the listener: up to the runtime at once, before any call of ours can be
     * notified to an agent that does not have it yet */
    return g_prog_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER ? seccomp_notify_handoff((int)r) : 0;
}

/* a filter with a listener is loaded while the runtime still waits for the process (the late load would come after
 * `create` returned, with nobody left to hand the listener to): as runc, before the fifo */
int seccomp_load_for_agent(void)
{
    return g_prog && !g_loaded && (g_prog_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) ? load() : 0;
}

int seccomp_load_early(void)
{
    return g_prog && !g_filter_nnp ? load() : 0;
}

int seccomp_load_late(void)
{
    return g_prog && !g_loaded ? load() : 0;
}

/* for `features`: what the kernel and this libseccomp accept */
json_object *seccomp_features(void)
{
    static const char *const actions[] = {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                                          "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
                                          "SCMP_ACT_TRAP"};
    static const char *const ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                                      "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"};
    static const char *const archs[] = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
                                        "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
                                        "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE",
                                        "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32",
                                        "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"};
    static const char *const flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                        "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
    static const unsigned flag_api[] = {2, 3, 4}; /* seccomp_api_get() level that brings each */
    json_object *o = json_object_new_object(), *a;
    json_object_object_add(o, "enabled", json_object_new_boolean(1));
#define ADD(key, v)                                                                                                    \
    a = json_object_new_array();                                                                                       \
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)                                                                  \
        json_object_array_add(a, json_object_new_string(v[i]));                                                        \
    json_object_object_add(o, key, a);
    ADD("actions", actions);
    ADD("operators", ops);
    ADD("archs", archs);
    ADD("knownFlags", flags);
#undef ADD
    unsigned api = seccomp_api_get();
    a = json_object_new_array();
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (api >= flag_api[i])
            json_object_array_add(a, json_object_new_string(flags[i]));
    json_object_object_add(o, "supportedFlags", a);
    return o;
}
