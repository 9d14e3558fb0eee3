using Microsoft.Win32.SafeHandles;

namespace PSContainer.Native;

/// <summary>
/// An flock(2) lock on a file. Sessions that add content to the store hold it shared; garbage collection holds it
/// exclusive, so it never deletes a blob another session has written but not yet recorded. The kernel drops the
/// lock if the process dies, so a killed session can never wedge the store.
/// </summary>
public sealed class FileLock : IDisposable
{
    private SafeFileHandle? handle;

    private FileLock(SafeFileHandle handle) => this.handle = handle;

    public static unsafe FileLock Acquire(string path, bool exclusive)
    {
        // Opened with open(2), not File.OpenHandle: .NET takes its own non-blocking flock on files it opens, which
        // would fail at once (instead of waiting) while another process holds our lock exclusively.
        byte[] p = Sys.Z(path);
        int fd;
        fixed (byte* pp = p) fd = Tmds.Linux.LibC.open(pp, Sys.O_RDWR | Sys.O_CREAT | Sys.O_CLOEXEC, (Tmds.Linux.mode_t)(ushort)0x1A4);
        if (fd < 0) throw new NativeException("open lock file", path, Errors.Last);
        var h = new SafeFileHandle(fd, ownsHandle: true);
        while (Sys.flock(fd, exclusive ? Sys.LOCK_EX : Sys.LOCK_SH) != 0)
        {
            int err = Errors.Last;
            if (err == Errors.EINTR) continue;
            h.Dispose();
            throw new NativeException("flock", path, err);
        }
        return new FileLock(h);
    }

    /// <summary>
    /// Takes the lock only if nobody holds it, and only on an existing file; null when it is held elsewhere or the
    /// file is gone (the thing it guards was removed).
    /// </summary>
    public static unsafe FileLock? TryAcquire(string path, bool exclusive)
    {
        byte[] p = Sys.Z(path);
        int fd;
        fixed (byte* pp = p) fd = Tmds.Linux.LibC.open(pp, Sys.O_RDWR | Sys.O_CLOEXEC, 0);
        if (fd < 0) return null;
        var h = new SafeFileHandle(fd, ownsHandle: true);
        if (Sys.flock(fd, (exclusive ? Sys.LOCK_EX : Sys.LOCK_SH) | Sys.LOCK_NB) != 0)
        {
            h.Dispose();
            return null;
        }
        return new FileLock(h);
    }

    public void Dispose()
    {
        handle?.Dispose();
        handle = null;
    }
}
