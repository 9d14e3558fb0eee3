using System.Runtime.InteropServices;
using System.Text;

namespace PSContainer.Native;

/// <summary>
/// Constants and the few system calls Tmds.LibC does not declare. Every import uses SetLastError so errno is
/// read reliably through Marshal.GetLastPInvokeError (the runtime may run code between a call and a later read
/// of errno); Tmds.LibC's own imports do the same.
/// </summary>
public static unsafe partial class Sys
{
    private const string Libc = "libc";

    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_TRUNC = 0x200,
        O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000;
    public const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    public const ulong RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04,
        RESOLVE_BENEATH = 0x08, RESOLVE_IN_ROOT = 0x10;
    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFREG = 0x8000,
        S_IFIFO = 0x1000, S_IFLNK = 0xA000, S_IFSOCK = 0xC000;
    public const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    public const long UTIME_OMIT = (1L << 30) - 2;

    // Tmds.LibC declares everything else we call (all with SetLastError); these few it lacks.
    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fsetxattr(int fd, byte* name, byte* value, nuint size, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int setxattr(byte* path, byte* name, byte* value, nuint size, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int lsetxattr(byte* path, byte* name, byte* value, nuint size, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint lgetxattr(byte* path, byte* name, byte* value, nuint size);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int renameat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath);

    /// <summary>rename(2): unlike Directory.Move, a directory replaces an empty one in one step, so no moment has
    /// neither of them.</summary>
    public static void Rename(string from, string to)
    {
        byte[] source = Encoding.UTF8.GetBytes(from + "\0"), target = Encoding.UTF8.GetBytes(to + "\0");
        fixed (byte* s = source)
        fixed (byte* t = target)
        {
            if (renameat(AT_FDCWD, s, AT_FDCWD, t) != 0) throw new NativeException("rename", from, Errors.Last);
        }
    }

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int getrlimit(int resource, ulong* limits);

    public const int RLIMIT_NOFILE = 7;

    /// <summary>The hard limit of a resource for this process (what it can still grant without CAP_SYS_RESOURCE).</summary>
    public static ulong HardLimit(int resource)
    {
        ulong* limits = stackalloc ulong[2];
        if (getrlimit(resource, limits) != 0) throw new NativeException("getrlimit", null, Errors.Last);
        return limits[1];
    }

    public static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) |
        ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    /// <summary>A NUL-terminated UTF-8 copy of a string, for passing to the kernel.</summary>
    public static byte[] Z(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        var bytes = new byte[n + 1];
        Encoding.UTF8.GetBytes(s, 0, s.Length, bytes, 0);
        if (Array.IndexOf(bytes, (byte)0, 0, n) >= 0)
            throw new ArgumentException($"path contains a NUL byte: {s}");
        return bytes;
    }
}
