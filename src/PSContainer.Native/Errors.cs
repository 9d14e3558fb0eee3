using System.Runtime.InteropServices;

namespace PSContainer.Native;

public static class Errors
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, EAGAIN = 11, EACCES = 13, EBUSY = 16,
        EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENOSPC = 28, ENOTEMPTY = 39, ELOOP = 40,
        ENODATA = 61, EOPNOTSUPP = 95;

    /// <summary>errno of the last P/Invoke made with SetLastError (all of ours are).</summary>
    public static int Last => Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
