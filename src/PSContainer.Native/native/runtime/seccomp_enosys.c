/* The -ENOSYS stub in front of libseccomp's program, runc's answer (libcontainer/seccomp/patchbpf) to a problem
 * libseccomp cannot express: a profile's default action (EPERM in Docker's) also hits syscalls newer than the profile,
 * and a newer glibc that tries such a call first (clone3, faccessat2, ...) only falls back to the old one on ENOSYS,
 * so under EPERM it fails. Like runc we return ENOSYS for every syscall number greater than the largest number the
 * profile names for the caller's architecture; calls at or below it still get the profile's own answer.
 *
 * The stub checks the architecture word first and only acts on the architectures of the filter (the profile's plus
 * the native one, as runc 1.1.14 and 1.2 do, because libseccomp always adds the native one and a profile without
 * "architectures" would otherwise get no stub): anything else falls through to libseccomp's program, which checks the
 * architecture again and applies its bad-arch action. On x86-64 the x32 ABI shares AUDIT_ARCH_X86_64 and marks its
 * calls with __X32_SYSCALL_BIT: an x32 call is compared with the largest x32 number (which includes the bit) and a
 * native call with the largest x86-64 number; an x32 call when the filter has no x32 goes to libseccomp. On s390(x)
 * syscall 0 is how the kernel reports an unknown multiplexed call, so it gets ENOSYS too (runc does the same).
 *
 * Layout (every jump is forward and short, the stub has a few instructions per architecture):
 *     ld  [arch]
 *     jeq ARCH_1, 0, <next arch>      then ld [nr]; ...; jgt MAX_1 -> enosys, else -> filter
 *     jeq ARCH_2, ...
 *     ja  filter                       (an architecture the stub does not know)
 *   enosys: ret ERRNO(ENOSYS)
 *   filter: libseccomp's program, unchanged (it loads arch and nr itself) */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

#define X32_SYSCALL_BIT 0x40000000u /* __X32_SYSCALL_BIT of asm/unistd.h */
#define MAX_ARCHES 32
#define MAX_STUB 256

struct arch_max {
    uint32_t audit;  /* AUDIT_ARCH_* the kernel puts in seccomp_data.arch */
    uint32_t max;    /* largest syscall number the profile names (0: none) */
    uint32_t x32max; /* x86-64 only: the same for x32 calls (includes the bit; 0: x32 not in the filter) */
    bool s390;
};

/* what runc treats as permissive (isAllowAction): no stub, a tracer or the log should see new calls as they are */
static bool wants_stub(uint32_t def)
{
    if (def == SCMP_ACT_ALLOW || def == SCMP_ACT_LOG || (def & SECCOMP_RET_ACTION_FULL) == SCMP_ACT_TRACE(0))
        return false;
    return def != SCMP_ACT_ERRNO(ENOSYS); /* the default already answers ENOSYS */
}

/* the largest number any name of the profile has on ARCH (names of other architectures or newer than libseccomp
 * resolve to negative pseudo numbers or fail, and are skipped as runc does) */
static uint32_t largest_nr(json_object *rules, uint32_t arch)
{
    int max = 0;
    for (size_t i = 0; rules && i < json_object_array_length(rules); i++) {
        json_object *rule = json_object_array_get_idx(rules, i), *names = NULL, *single = NULL;
        json_object_object_get_ex(rule, "names", &names);
        json_object_object_get_ex(rule, "name", &single);
        size_t n = names && json_object_is_type(names, json_type_array) ? json_object_array_length(names) : 0;
        for (size_t k = 0; k < n + (single ? 1 : 0); k++) {
            const char *name = json_object_get_string(k < n ? json_object_array_get_idx(names, k) : single);
            int nr = name ? seccomp_syscall_resolve_name_arch(arch, name) : __NR_SCMP_ERROR;
            if (nr > max)
                max = nr;
        }
    }
    return (uint32_t)max;
}

static struct arch_max *arch_entry(struct arch_max *a, size_t *n, uint32_t audit)
{
    for (size_t i = 0; i < *n; i++)
        if (a[i].audit == audit)
            return &a[i];
    if (*n == MAX_ARCHES)
        return NULL;
    a[*n] = (struct arch_max){.audit = audit};
    return &a[(*n)++];
}

/* per AUDIT_ARCH, the largest numbers; TOKENS are the filter's SCMP_ARCH_* values */
static int collect(json_object *rules, const uint32_t *tokens, size_t ntokens, struct arch_max *a, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < ntokens; i++) {
        /* SCMP_ARCH_* equal AUDIT_ARCH_* except x32, which the kernel reports as x86-64 */
        bool x32 = tokens[i] == SCMP_ARCH_X32;
        struct arch_max *e = arch_entry(a, n, x32 ? AUDIT_ARCH_X86_64 : tokens[i]);
        if (!e)
            return err_msg(1, "linux.seccomp: too many architectures");
        uint32_t max = largest_nr(rules, tokens[i]);
        if (x32)
            e->x32max = max;
        else
            e->max = max;
        e->s390 = tokens[i] == SCMP_ARCH_S390 || tokens[i] == SCMP_ARCH_S390X;
    }
    return 0;
}

static int emit(struct sock_filter *s, size_t *len, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
    if (*len == MAX_STUB)
        return err_msg(1, "linux.seccomp: the ENOSYS stub is too long");
    s[(*len)++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
    return 0;
}

/* jump offset from instruction AT to TARGET, which must be ahead and within a conditional jump's reach */
static int offset(size_t at, size_t target, uint8_t *out)
{
    if (target <= at || target - at - 1 > 255)
        return err_msg(1, "linux.seccomp: the ENOSYS stub needs a jump it cannot make");
    *out = (uint8_t)(target - at - 1);
    return 0;
}

/* One architecture's section, starting at s[*len]; ENOSYS_AT is where ret ENOSYS will be (the filter follows it).
 * Two passes: the first with ENOSYS_AT == 0 only counts instructions. */
static int section(struct sock_filter *s, size_t *len, const struct arch_max *e, size_t enosys_at)
{
    bool count = enosys_at == 0;
    uint8_t to_enosys = 0, to_filter = 0;
#define JUMPS(at) (count || (offset(at, enosys_at, &to_enosys) == 0 && offset(at, enosys_at + 1, &to_filter) == 0))
    if (emit(s, len, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr)) < 0)
        return -1;
    if (e->s390 && (!JUMPS(*len) || emit(s, len, BPF_JMP | BPF_JEQ | BPF_K, to_enosys, 0, 0) < 0))
        return -1;
    if (e->audit == AUDIT_ARCH_X86_64) {
        /* x32 call: bit set. With x32 in the filter the next instruction compares it, else it goes to libseccomp;
         * a native call skips the x32 comparison (if there is one) */
        if (e->x32max) {
            if (emit(s, len, BPF_JMP | BPF_JSET | BPF_K, 0, 1, X32_SYSCALL_BIT) < 0 || !JUMPS(*len) ||
                emit(s, len, BPF_JMP | BPF_JGT | BPF_K, to_enosys, to_filter, e->x32max) < 0)
                return -1;
            if (!e->max) /* x32 only: a native call goes to libseccomp, whose arch check refuses it */
                return JUMPS(*len) ? emit(s, len, BPF_JMP | BPF_JA, 0, 0, to_filter) : -1;
        } else if (!JUMPS(*len) || emit(s, len, BPF_JMP | BPF_JSET | BPF_K, to_filter, 0, X32_SYSCALL_BIT) < 0) {
            return -1;
        }
    }
    if (!JUMPS(*len))
        return -1;
#undef JUMPS
    return emit(s, len, BPF_JMP | BPF_JGT | BPF_K, to_enosys, to_filter, e->max);
}

static int build_stub(const struct arch_max *a, size_t n, struct sock_filter *s, size_t *len)
{
    /* pass 1: section sizes, so the dispatch jumps and the ENOSYS return can be placed */
    size_t size[MAX_ARCHES], body = 0;
    for (size_t i = 0; i < n; i++) {
        struct sock_filter scratch[MAX_STUB];
        size[i] = 0;
        if (section(scratch, &size[i], &a[i], 0) < 0)
            return -1;
        body += size[i];
    }
    /* ld arch; per arch: jeq + section; ja filter; enosys */
    size_t enosys_at = 1 + n + body + 1;
    if (enosys_at + 1 > MAX_STUB)
        return err_msg(1, "linux.seccomp: the ENOSYS stub is too long");
    *len = 0;
    if (emit(s, len, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch)) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (emit(s, len, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, a[i].audit) < 0)
            return -1;
        size_t jeq = *len - 1;
        if (section(s, len, &a[i], enosys_at) < 0)
            return -1;
        uint8_t skip = 0;
        if (offset(jeq, *len, &skip) < 0)
            return -1;
        s[jeq].jf = skip; /* another architecture: the next jeq (or the final ja) */
    }
    if (emit(s, len, BPF_JMP | BPF_JA, 0, 0, 1) < 0 ||
        emit(s, len, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)) < 0)
        return -1;
    return *len == enosys_at + 1 ? 0 : err_msg(1, "linux.seccomp: the ENOSYS stub came out %zu long", *len);
}

int seccomp_enosys_patch(json_object *sc, uint32_t def, const uint32_t *tokens, size_t ntokens,
                         struct sock_filter **prog, unsigned short *len)
{
    if (!wants_stub(def))
        return 0;
    json_object *rules = NULL;
    json_object_object_get_ex(sc, "syscalls", &rules);
    if (rules && !json_object_is_type(rules, json_type_array))
        rules = NULL;
    uint32_t all[MAX_ARCHES + 1];
    if (ntokens > MAX_ARCHES)
        return err_msg(1, "linux.seccomp: too many architectures");
    memcpy(all, tokens, ntokens * sizeof *tokens);
    all[ntokens] = seccomp_arch_native(); /* listed twice is harmless: collect merges by AUDIT_ARCH */
    struct arch_max a[MAX_ARCHES];
    size_t n;
    if (collect(rules, all, ntokens + 1, a, &n) < 0)
        return -1;
    size_t keep = 0; /* an architecture none of whose names resolved gets no section, as in runc */
    for (size_t i = 0; i < n; i++)
        if (a[i].max || a[i].x32max)
            a[keep++] = a[i];
    if (keep == 0)
        return 0;
    struct sock_filter stub[MAX_STUB];
    size_t slen;
    if (build_stub(a, keep, stub, &slen) < 0)
        return -1;
    if (*len + slen > BPF_MAXINSNS)
        return err_msg(1, "linux.seccomp: the filter is too long with the ENOSYS stub (%zu instructions)", *len + slen);
    struct sock_filter *p = malloc((*len + slen) * sizeof *p);
    if (!p)
        abort();
    memcpy(p, stub, slen * sizeof *p);
    memcpy(p + slen, *prog, *len * sizeof *p);
    free(*prog);
    *prog = p;
    *len = (unsigned short)(*len + slen);
    return 0;
}
