/* System calls newer than some C libraries' headers, by number, and raw clone's argument order. */
#ifndef PSC_COMMON_SYSCALLS_H
#define PSC_COMMON_SYSCALLS_H

#include <sys/syscall.h>

/* Numbered alike on every architecture since Linux 5.1's common table (alpha excepted, which the build does not
 * target), so headers older than the kernel the binary runs on still build it; a kernel without the call answers
 * ENOSYS, which each caller handles. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* openat2's argument (Linux 5.6), for headers without <linux/openat2.h>. */
#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif
#endif
#ifndef RESOLVE_IN_ROOT
#include <stdint.h>
struct open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_IN_ROOT 0x10
#endif

/* clone(2) with no new stack: a fork with FLAGS (namespace flags and the exit signal). s390 and cris take the stack
 * first and the flags second; every other architecture the flags first. */
#if defined(__s390__) || defined(__CRIS__)
#define PSC_RAW_CLONE(flags) syscall(SYS_clone, 0UL, (unsigned long)(flags), NULL, NULL, NULL)
#else
#define PSC_RAW_CLONE(flags) syscall(SYS_clone, (unsigned long)(flags), NULL, NULL, NULL, NULL)
#endif

#endif
