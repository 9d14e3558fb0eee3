using System.Runtime.InteropServices;

namespace PSContainer.Native;

/// <summary>
/// Waits for a process that is not our child (a container monitor) to exit, with pidfd_open and poll: the kernel
/// wakes us the moment it exits, instead of a polling loop's sleep.
/// </summary>
public static unsafe partial class ProcessWaiter
{
    private const long SYS_pidfd_open = 434;
    private const short POLLIN = 1;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, int pid, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(PollFd* fds, ulong count, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    /// <summary>
    /// Opens a pidfd for <paramref name="pid"/> if it is still the process <paramref name="isSameProcess"/> says it
    /// is (checked after opening, so a reused pid is never waited on); -1 if it is gone.
    /// </summary>
    public static int Open(int pid, Func<bool> isSameProcess)
    {
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
        {
            int err = Errors.Last;
            if (err == 3 /* ESRCH */) return -1;
            throw new NativeException("pidfd_open", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), err);
        }
        if (!isSameProcess())
        {
            close(fd);
            return -1;
        }
        return fd;
    }

    /// <summary>True once the process behind the pidfd has exited; false after <paramref name="timeoutMs"/>.</summary>
    public static bool Wait(int pidfd, int timeoutMs)
    {
        var p = new PollFd { Fd = pidfd, Events = POLLIN };
        int rc = poll(&p, 1, timeoutMs);
        if (rc < 0)
        {
            int err = Errors.Last;
            if (err == Errors.EINTR) return false;
            throw new NativeException("poll pidfd", null, err);
        }
        return rc > 0;
    }

    public static void Close(int pidfd)
    {
        if (pidfd >= 0) close(pidfd);
    }
}
