/* cgroup v2 device control: v2 has no devices.allow/deny files, the kernel asks an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup (BPF_CGROUP_DEVICE) on every open and mknod of a device node.
 * The program is written here instruction by instruction (no libbpf):
 *
 *   r2 = ctx->access_type & 0xffff   device type, BPF_DEVCG_DEV_BLOCK / _CHAR
 *   r3 = ctx->access_type >> 16      requested access, BPF_DEVCG_ACC_MKNOD | _READ | _WRITE
 *   r4 = ctx->major, r5 = ctx->minor
 *   one block per rule, LAST rule first, so the first block that matches is the last matching rule:
 *       type / access / major / minor tests, each jumping to the next block when it fails
 *       r0 = allow; exit
 *   r0 = 0; exit                     nothing matched: deny
 *
 * Matching: an allow rule covers a request when every requested access bit is in the rule's access; a deny rule
 * when any requested bit is in it (an open for read+write is refused if either is denied, as v1 does). Type "a"
 * covers every device and access whatever its numbers say, as the v1 driver's "devices.deny a" does. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

#define MAX_INSNS (8 + 16 * 1024)

struct prog {
    struct bpf_insn insn[MAX_INSNS];
    size_t n;
};

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    struct bpf_insn i;
    memset(&i, 0, sizeof i);
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

static void emit(struct prog *p, struct bpf_insn i)
{
    p->insn[p->n++] = i;
}

/* dst = *(u32 *)(ctx + off) */
static void ld_ctx32(struct prog *p, int dst, int16_t off)
{
    emit(p, insn(BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_1, off, 0));
}

static void mov_imm(struct prog *p, int dst, int32_t imm)
{
    emit(p, insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm));
}

static void mov_reg(struct prog *p, int dst, int src)
{
    emit(p, insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0));
}

static void alu_imm(struct prog *p, uint8_t op, int dst, int32_t imm)
{
    emit(p, insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm));
}

/* a conditional jump whose target (the end of the current rule's block) is patched later */
static void jmp_fwd(struct prog *p, uint8_t op, int dst, int32_t imm, size_t *fixups, size_t *nfix)
{
    fixups[(*nfix)++] = p->n;
    emit(p, insn(BPF_JMP | op | BPF_K, dst, 0, 0, imm));
}

static void ret(struct prog *p, int32_t v)
{
    mov_imm(p, BPF_REG_0, v);
    emit(p, insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

static int access_mask(const char *access, int32_t *mask)
{
    *mask = 0;
    for (const char *c = access; *c; c++) {
        switch (*c) {
        case 'r': *mask |= BPF_DEVCG_ACC_READ; break;
        case 'w': *mask |= BPF_DEVCG_ACC_WRITE; break;
        case 'm': *mask |= BPF_DEVCG_ACC_MKNOD; break;
        default: return err_msg(1, "config.json: invalid device access \"%s\"", access);
        }
    }
    if (!*mask)
        *mask = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
    return 0;
}

static int build(struct prog *p, const struct rt_devrule *rules, size_t n)
{
    p->n = 0;
    ld_ctx32(p, BPF_REG_2, offsetof(struct bpf_cgroup_dev_ctx, access_type));
    alu_imm(p, BPF_AND, BPF_REG_2, 0xffff);
    ld_ctx32(p, BPF_REG_3, offsetof(struct bpf_cgroup_dev_ctx, access_type));
    alu_imm(p, BPF_RSH, BPF_REG_3, 16);
    ld_ctx32(p, BPF_REG_4, offsetof(struct bpf_cgroup_dev_ctx, major));
    ld_ctx32(p, BPF_REG_5, offsetof(struct bpf_cgroup_dev_ctx, minor));
    for (size_t k = n; k-- > 0;) {
        const struct rt_devrule *r = &rules[k];
        if (p->n + 16 > MAX_INSNS)
            return err_msg(1, "too many device rules (%zu) for one eBPF program", n);
        size_t fix[4], nfix = 0;
        if (r->type != 'a') {
            int32_t mask;
            if (access_mask(r->access, &mask) < 0)
                return -1;
            jmp_fwd(p, BPF_JNE, BPF_REG_2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, fix, &nfix);
            if (mask != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
                mov_reg(p, BPF_REG_1, BPF_REG_3); /* the context pointer is not needed any more */
                if (r->allow) { /* requested bits outside the rule: not covered */
                    alu_imm(p, BPF_AND, BPF_REG_1, ~mask & 0xffff);
                    jmp_fwd(p, BPF_JNE, BPF_REG_1, 0, fix, &nfix);
                } else { /* no requested bit in the rule: not covered */
                    alu_imm(p, BPF_AND, BPF_REG_1, mask);
                    jmp_fwd(p, BPF_JEQ, BPF_REG_1, 0, fix, &nfix);
                }
            }
            if (r->major >= 0) {
                if (r->major > INT32_MAX)
                    return err_msg(1, "config.json: device rule major %" PRId64 " out of range", r->major);
                jmp_fwd(p, BPF_JNE, BPF_REG_4, (int32_t)r->major, fix, &nfix);
            }
            if (r->minor >= 0) {
                if (r->minor > INT32_MAX)
                    return err_msg(1, "config.json: device rule minor %" PRId64 " out of range", r->minor);
                jmp_fwd(p, BPF_JNE, BPF_REG_5, (int32_t)r->minor, fix, &nfix);
            }
        }
        ret(p, r->allow ? 1 : 0);
        for (size_t f = 0; f < nfix; f++) /* off counts from the instruction after the jump */
            p->insn[fix[f]].off = (int16_t)(p->n - fix[f] - 1);
        if (r->type == 'a') /* nothing before it can ever run */
            return 0;
    }
    ret(p, 0);
    return 0;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
    return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static int load(const struct prog *p)
{
    static char log[64 * 1024];
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)p->insn;
    attr.insn_cnt = (uint32_t)p->n;
    attr.license = (uint64_t)(uintptr_t) "Apache";
    int fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0)
        return fd;
    int e = errno;
    /* again with the verifier's log, only to say why */
    log[0] = 0;
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = sizeof log;
    attr.log_level = 1;
    fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0)
        return fd;
    errno = e;
    size_t len = strlen(log);
    while (len && log[len - 1] == '\n')
        log[--len] = 0;
    const char *tail = len > 600 ? log + len - 600 : log;
    return err_sys("load the cgroup v2 device eBPF program (%zu instructions)%s%s", p->n, *tail ? ": " : "", tail);
}

/* the programs attached to the cgroup itself (not inherited), to detach once the new one is in */
static int query(int cgfd, uint32_t *ids, uint32_t *n)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = (uint32_t)cgfd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.query.prog_cnt = *n;
    if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
        return -1;
    *n = attr.query.prog_cnt < *n ? attr.query.prog_cnt : *n;
    return 0;
}

int devices_bpf_apply(const char *cgdir, const struct rt_devrule *rules, size_t n)
{
    struct prog *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    int rc = -1, progfd = -1, cgfd = -1;
    if (build(p, rules, n) < 0 || (progfd = load(p)) < 0)
        goto out;
    cgfd = open(cgdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgfd < 0) {
        err_sys("open cgroup %s", cgdir);
        goto out;
    }
    uint32_t old[64], nold = 64;
    if (query(cgfd, old, &nold) < 0)
        nold = 0; /* nothing to replace (or no way to know): the new program is attached all the same */

    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgfd;
    attr.attach_bpf_fd = (uint32_t)progfd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0) {
        err_sys("attach the device eBPF program to cgroup %s", cgdir);
        goto out;
    }
    /* re-apply: the old programs go only now, so there is no moment without one (both at once only deny more) */
    for (uint32_t i = 0; i < nold; i++) {
        memset(&attr, 0, sizeof attr);
        attr.prog_id = old[i];
        int oldfd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
        if (oldfd < 0) {
            log_warn("cgroup %s: device eBPF program %u: %s", cgdir, old[i], strerror(errno));
            continue;
        }
        memset(&attr, 0, sizeof attr);
        attr.target_fd = (uint32_t)cgfd;
        attr.attach_bpf_fd = (uint32_t)oldfd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        if (sys_bpf(BPF_PROG_DETACH, &attr) < 0)
            log_warn("cgroup %s: detach old device eBPF program %u: %s", cgdir, old[i], strerror(errno));
        close(oldfd);
    }
    rc = 0;
out:
    if (cgfd >= 0)
        close(cgfd);
    if (progfd >= 0)
        close(progfd);
    free(p);
    return rc;
}
