/* Keeping the idle monitor small. Code pages of the binary and of libc that ran only during start-up (argument
 * parsing, fork/exec, the dynamic loader) stay mapped, and the kernel's fault-around maps them in 64 KiB
 * chunks, so VmRSS counts ~1 MiB of shared libc text the monitor no longer uses. Once start-up is over, the
 * read-only executable file mappings are dropped from our page tables (MADV_DONTNEED); they are never written,
 * so nothing is lost: a page that runs again is faulted back in from the page cache. */
#include "monitor.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void trim_resident(void)
{
    /* First collect the ranges, then drop them: every libc function used here is called (and so bound by the
     * lazy dynamic linker) before the first range is dropped, so ld.so's pages are not pulled back in. */
    struct { unsigned long lo, hi; } ranges[32];
    int nranges = 0;
    char buf[4096];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = 0;
            /* "start-end perms offset dev inode path": only private executable, non-writable file mappings */
            char *end;
            unsigned long lo = strtoul(line, &end, 16);
            unsigned long hi = *end == '-' ? strtoul(end + 1, &end, 16) : 0;
            if (hi > lo && end[0] == ' ' && strncmp(end + 1, "r-xp ", 5) == 0 && strchr(end, '/') &&
                nranges < 32) {
                ranges[nranges].lo = lo;
                ranges[nranges].hi = hi;
                nranges++;
            }
            line = nl + 1;
        }
        have = strlen(line);
        memmove(buf, line, have);
    }
    close(fd);
    madvise(NULL, 0, MADV_DONTNEED); /* binds madvise itself */
    for (int i = 0; i < nranges; i++)
        madvise((void *)ranges[i].lo, ranges[i].hi - ranges[i].lo, MADV_DONTNEED);
}
