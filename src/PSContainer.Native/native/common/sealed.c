/* A sealed in-memory copy of an executable (CVE-2019-5736): psc-runtime re-executes itself from one for create, run
 * and exec when it was not started from one, and psc-monitor --sealed-runtime makes one to start the runtime from, so
 * the runtime finds its seals and need not re-execute itself. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

int sealed_copy(const char *path)
{
    int src = open(path, O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return -1;
    struct stat st;
    int mfd = -1, e = 0;
    if (fstat(src, &st) < 0 || (mfd = memfd_create("psc-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING)) < 0) {
        e = errno;
        goto out;
    }
    off_t off = 0;
    while (off < st.st_size) {
        ssize_t n = sendfile(mfd, src, &off, (size_t)(st.st_size - off));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = n < 0 ? errno : EIO;
            goto out;
        }
    }
    if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
        e = errno;
out:
    close(src);
    if (e) {
        if (mfd >= 0)
            close(mfd);
        errno = e;
        return -1;
    }
    return mfd;
}
