/* Signals arrive through a signalfd: SIGCHLD to reap, SIGTERM/SIGINT/SIGHUP to forward to the container, and
 * MON_RELAY_SIGNAL, the engine's request to send the container a signal of its choice (monitor.h). */
#include "monitor.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static sigset_t handled(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGCHLD);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGHUP);
    /* Blocked only where it is a realtime signal of this libc: the engine reads our blocked mask to know whether
     * we take relay requests (an older monitor would die of it), so a number we cannot honour stays unblocked. */
    if (MON_RELAY_SIGNAL >= SIGRTMIN && MON_RELAY_SIGNAL <= SIGRTMAX)
        sigaddset(&s, MON_RELAY_SIGNAL);
    return s;
}

int signals_setup(void)
{
    sigset_t s = handled();
    /* Every disposition back to its default first: a monitor started from a background job inherits SIGINT and
     * SIGQUIT ignored, and an ignored signal is discarded even while blocked, so the signalfd would never see the
     * INT to forward, and the container would start with it ignored (a shell cannot even trap it). The
     * numbers glibc keeps for itself (32, 33) refuse the change with EINVAL. */
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (signal(sig, SIG_DFL) == SIG_ERR && errno != EINVAL)
            return -1;
    }
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) /* a closed sync pipe must not kill us */
        return -1;
    if (sigprocmask(SIG_BLOCK, &s, NULL) < 0)
        return -1;
    return signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* In the forked child before exec: the runtime (and so the container) must get a clean signal state. */
void signals_reset_in_child(void)
{
    sigset_t none;
    sigemptyset(&none);
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Drains the signalfd. Sets *got_chld when SIGCHLD arrived, bit N of *forward_mask for each signal N to
 * forward, and bit N of *relay_mask for each relay request for signal N. Returns the number of signals read. */
int signals_read(int sfd, int *got_chld, unsigned *forward_mask, unsigned long long *relay_mask)
{
    struct signalfd_siginfo si;
    int count = 0;
    for (;;) {
        ssize_t n = read(sfd, &si, sizeof si);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof si)
            break;
        count++;
        if (si.ssi_signo == SIGCHLD)
            *got_chld = 1;
        else if (si.ssi_signo == MON_RELAY_SIGNAL) {
            /* Only a queued request says which signal: a plain kill of this number carries none and is dropped. */
            if (si.ssi_code == SI_QUEUE && si.ssi_int >= 1 && si.ssi_int < 64)
                *relay_mask |= 1ull << si.ssi_int;
        } else
            *forward_mask |= 1u << si.ssi_signo;
    }
    return count;
}
