using Microsoft.Win32.SafeHandles;

namespace PSContainer.Native;

/// <summary>Which file a path or an open handle is (device and inode): tells a renamed-away file from its successor.</summary>
public readonly record struct FileIdentity(ulong Device, ulong Inode)
{
    public static unsafe FileIdentity Of(SafeFileHandle handle)
    {
        Tmds.Linux.stat st;
        if (Tmds.Linux.LibC.fstat((int)handle.DangerousGetHandle(), &st) != 0) throw new NativeException("fstat", "", Errors.Last);
        return new FileIdentity((ulong)st.st_dev, (ulong)st.st_ino);
    }

    /// <summary>The file at <paramref name="path"/> now, or null if there is none.</summary>
    public static FileIdentity? Of(string path) => Version(path)?.Id;

    /// <summary>The file at <paramref name="path"/> and when it was last written (nanoseconds since the epoch), from one
    /// stat, or null if there is none: a file replaced by another, or rewritten, compares unequal.</summary>
    public static unsafe (FileIdentity Id, long WrittenNs)? Version(string path)
    {
        Tmds.Linux.stat st;
        byte[] p = Sys.Z(path);
        int r;
        fixed (byte* pp = p) r = Tmds.Linux.LibC.stat(pp, &st);
        if (r != 0) return null;
        return (new FileIdentity((ulong)st.st_dev, (ulong)st.st_ino), (long)st.st_mtim.tv_sec * 1_000_000_000 + (long)st.st_mtim.tv_nsec);
    }
}
