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

    public static FileLock Acquire(string path, bool exclusive)
    {
        var h = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        int fd = (int)h.DangerousGetHandle();
        while (Sys.flock(fd, exclusive ? Sys.LOCK_EX : Sys.LOCK_SH) != 0)
        {
            int err = Errors.Last;
            if (err == Errors.EINTR) continue;
            h.Dispose();
            throw new NativeException("flock", path, err);
        }
        return new FileLock(h);
    }

    public void Dispose()
    {
        handle?.Dispose();
        handle = null;
    }
}
