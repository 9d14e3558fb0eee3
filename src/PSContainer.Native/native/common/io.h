/* I/O helpers shared by psc-runtime and psc-monitor. */
#ifndef PSC_COMMON_IO_H
#define PSC_COMMON_IO_H

#include <stddef.h>

/* write(2) until all of buf is written or an error other than EINTR; 0 or -1 with errno set. */
int write_all(int fd, const void *buf, size_t len);

/* sealed.c: a memfd (close-on-exec) holding a copy of the file at PATH, sealed against write, shrink and grow, or -1
 * with errno set */
int sealed_copy(const char *path);

#endif
