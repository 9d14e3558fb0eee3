/* The container's log in the CRI (k8s-file) format, one record per line:
 *   2026-11-28T06:06:02.123456789Z stdout F text
 * F ends a line; P is a piece of a line that continues in the next record of the stream (a line longer than
 * LOG_RECORD_MAX, or text the container flushed without a newline yet). Nothing is held back across time:
 * whatever a read returns is written at once. A stream that ends without a newline gets an empty F record.
 * While the runtime's `create` runs, what it prints is only captured (for its error message), not logged.
 * Each record is one writev() on an O_APPEND file, so a reader following the file never sees half a record.
 * With --log-max-size the log rotates between records once it reaches that size, as docker's json-file driver:
 * FILE.1 is the newest old file, FILE.(max-files - 1) the oldest, and older ones are deleted; a reader that holds
 * the old file open reads it to its end, then opens FILE anew. A rotation that fails keeps the current file. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int log_fd = -1;
static const char *log_path;
static long long log_size, log_max_size;
static int log_max_files = 1;
static char buf[LOG_RECORD_MAX]; /* shared by both streams: nothing stays in it between calls */

void log_set_output(int fd, const char *path, long long max_size, int max_files)
{
    struct stat st;
    log_fd = fd;
    log_path = path;
    log_max_size = max_size;
    log_max_files = max_files < 1 ? 1 : max_files;
    log_size = fstat(fd, &st) == 0 ? (long long)st.st_size : 0;
}

/* FILE.(n-1) is dropped, FILE.i becomes FILE.(i+1), FILE becomes FILE.1, and a new FILE is opened. With one file
 * kept there is nothing to shift into: the file is emptied instead.
 * The new file is made first, as FILE.new (a name readers pass over): if it cannot be made (no inodes, no space),
 * nothing has moved, and the current file goes on growing until the next try, one max-size later. Made last, a
 * failure would leave FILE.1 empty after moving everything up, a gap each later rotation carried along.
 * A rename that fails on the way leaves the files as they are at that point, and the current file in use. */
static void rotate(void)
{
    log_size = 0; /* whatever happens below, the next try is one max-size away, not at the next record */
    if (log_max_files == 1) {
        if (ftruncate(log_fd, 0) < 0) {
            /* the file keeps growing; the next try comes one max-size later */
        }
        return;
    }
    char from[PATH_MAX], to[PATH_MAX], fresh[PATH_MAX];
    /* room for the longest name made below (".new", or "." and an index): none is ever cut short */
    if (strlen(log_path) + 16 >= sizeof fresh)
        return;
    snprintf(fresh, sizeof fresh, "%s.new", log_path);
    unlink(fresh); /* a monitor killed between making and renaming it */
    int fd = open(fresh, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return;
    snprintf(to, sizeof to, "%s.%d", log_path, log_max_files - 1);
    if (unlink(to) < 0 && errno != ENOENT)
        goto undo;
    for (int i = log_max_files - 2; i >= 1; i--) {
        snprintf(from, sizeof from, "%s.%d", log_path, i);
        snprintf(to, sizeof to, "%s.%d", log_path, i + 1);
        if (rename(from, to) < 0 && errno != ENOENT)
            goto undo;
    }
    snprintf(to, sizeof to, "%s.1", log_path);
    if (rename(log_path, to) < 0)
        goto undo;
    if (rename(fresh, log_path) < 0) {
        rename(to, log_path); /* keep writing where we were rather than lose the output */
        goto undo;
    }
    close(log_fd);
    log_fd = fd;
    return;
undo:
    close(fd);
    unlink(fresh);
}

static void emit(struct logstream *s, char tag, const char *text, size_t len)
{
    if (s->quiet)
        return;
    char head[64];
    size_t h = fmt_time_now(head);
    head[h++] = ' ';
    size_t nl = strlen(s->name);
    memcpy(head + h, s->name, nl);
    h += nl;
    head[h++] = ' ';
    head[h++] = tag;
    head[h++] = ' ';
    struct iovec iov[3] = {{head, h}, {(void *)text, len}, {"\n", 1}};
    size_t total = h + len + 1;
    s->partial = tag == 'P';
    if (log_fd < 0)
        return;
    ssize_t n;
    do
        n = writev(log_fd, iov, 3);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return; /* on a write error (disk full) keep draining the pipe so the container never blocks */
    log_size += (long long)total;
    if (log_max_size > 0 && log_size >= log_max_size && (size_t)n == total)
        rotate();
    if ((size_t)n == total)
        return;
    /* short write (rare on regular files): finish the record */
    size_t done = (size_t)n;
    for (int i = 0; i < 3; i++) {
        if (done >= iov[i].iov_len) {
            done -= iov[i].iov_len;
            continue;
        }
        if (write_all(log_fd, (char *)iov[i].iov_base + done, iov[i].iov_len - done) < 0)
            return;
        done = 0;
    }
}

static void capture(struct logstream *s, const char *p, size_t n)
{
    if (!s->capture || s->capture_len + 1 >= s->capture_cap)
        return;
    size_t room = s->capture_cap - 1 - s->capture_len;
    if (n > room)
        n = room;
    memcpy(s->capture + s->capture_len, p, n);
    s->capture_len += n;
    s->capture[s->capture_len] = 0;
}

void log_close(struct logstream *s)
{
    if (s->partial)
        emit(s, 'F', "", 0);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* Reads what the pipe holds now and logs it. Returns false once the stream reached EOF (it is then closed). */
bool log_pump(struct logstream *s)
{
    if (s->fd < 0)
        return false;
    size_t len = 0;
    bool eof = false;
    /* Keep reading while data is immediately available, so a line split across reads stays one record;
     * bounded so one busy stream cannot starve the other. */
    for (int round = 0; round < 16; round++) {
        ssize_t n = read(s->fd, buf + len, sizeof buf - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                eof = true;
            break;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        capture(s, buf + len, (size_t)n);
        if (s->tee)
            s->tee(buf + len, (size_t)n);
        len += (size_t)n;
        size_t start = 0;
        char *nl;
        while ((nl = memchr(buf + start, '\n', len - start)) != NULL) {
            emit(s, 'F', buf + start, (size_t)(nl - (buf + start)));
            start = (size_t)(nl - buf) + 1;
        }
        size_t rest = len - start;
        if (rest == sizeof buf) { /* a line longer than a record: this piece goes out now */
            emit(s, 'P', buf, rest);
            len = 0;
        } else {
            memmove(buf, buf + start, rest);
            len = rest;
        }
    }
    if (len > 0)
        emit(s, 'P', buf, len);
    if (eof) {
        log_close(s);
        return false;
    }
    return true;
}
