using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PSContainer.Native;

/// <summary>What lstat says of one leaf: enough to write it into a tar as it is.</summary>
public sealed record FileStat(uint Type, uint Mode, uint Uid, uint Gid, long Size, DateTimeOffset Modified, DateTimeOffset Accessed,
    ulong Device, ulong Inode, ulong Links, uint RdevMajor, uint RdevMinor);

public static unsafe partial class Sys
{
    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint llistxattr(byte* path, byte* list, nuint size);
}

// The reading side of a rooted tree (copying out of a container, exporting, committing): every leaf is looked at
// through its parent's descriptor and never followed, so a symlink planted in the tree while it is read cannot lead
// the reader out of it.
public sealed unsafe partial class DirectoryHandle
{
    /// <summary>lstat of a leaf ("" is this directory); null when it does not exist.</summary>
    public FileStat? Stat(string name)
    {
        byte[] n = Sys.Z(name);
        stat st;
        int rc;
        fixed (byte* pn = n) rc = fstatat(fd, pn, &st, Sys.AT_SYMLINK_NOFOLLOW | (name.Length == 0 ? Sys.AT_EMPTY_PATH : 0));
        if (rc != 0)
        {
            int err = Errors.Last;
            if (err is Errors.ENOENT or Errors.ENOTDIR) return null;
            throw new NativeException("stat", Where(name), err);
        }
        ulong rdev = (ulong)st.st_rdev;
        uint major = (uint)(((rdev >> 32) & 0xfffff000) | ((rdev >> 8) & 0xfff));
        uint minor = (uint)(((rdev >> 12) & 0xffffff00) | (rdev & 0xff));
        return new FileStat((uint)st.st_mode & Sys.S_IFMT, (uint)st.st_mode & 0xFFF, (uint)st.st_uid, (uint)st.st_gid, (long)st.st_size,
            FromTimespec(st.st_mtim), FromTimespec(st.st_atim), (ulong)st.st_dev, (ulong)st.st_ino, (ulong)st.st_nlink, major, minor);
    }

    private static DateTimeOffset FromTimespec(timespec t) =>
        DateTimeOffset.FromUnixTimeSeconds(t.tv_sec).AddTicks((long)t.tv_nsec / 100);

    /// <summary>The target text of a symlink leaf.</summary>
    public string ReadLink(string name)
    {
        byte[] n = Sys.Z(name);
        var buffer = new byte[4097];
        ssize_t len;
        fixed (byte* pn = n) fixed (byte* pb = buffer) len = readlinkat(fd, pn, pb, (size_t)buffer.Length);
        if (len < 0) throw new NativeException("readlink", Where(name), Errors.Last);
        return Encoding.UTF8.GetString(buffer, 0, (int)len);
    }

    /// <summary>
    /// Opens a regular-file leaf for reading, never through a symlink and without blocking on a FIFO swapped in for
    /// it; the descriptor is checked to be a regular file before it is returned.
    /// </summary>
    public SafeFileHandle OpenRegularFile(string name)
    {
        byte[] n = Sys.Z(name);
        int f;
        fixed (byte* pn = n) f = openat(fd, pn, Sys.O_RDONLY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC | 0x800 /*O_NONBLOCK*/ | 0x100 /*O_NOCTTY*/, 0);
        if (f < 0) throw new NativeException("open", Where(name), Errors.Last);
        stat st;
        if (fstat(f, &st) != 0 || ((uint)st.st_mode & Sys.S_IFMT) != Sys.S_IFREG)
        {
            int err = Errors.Last;
            close(f);
            throw new NativeException("open (not a regular file)", Where(name), err == 0 ? Errors.EINVAL : err);
        }
        return new SafeFileHandle(f, ownsHandle: true);
    }

    /// <summary>Opens a directory leaf (never a symlink to one) for walking.</summary>
    public DirectoryHandle OpenChild(string name) => OpenChildDirectory(name);

    /// <summary>The extended attributes of a leaf, not following it if it is a symlink.</summary>
    public IReadOnlyDictionary<string, byte[]> Xattrs(string name)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        byte[] path = Sys.Z(name.Length == 0 ? $"/proc/self/fd/{fd}" : $"/proc/self/fd/{fd}/{name}");
        var list = new byte[65536];
        nint len;
        fixed (byte* pp = path) fixed (byte* pl = list)
            len = name.Length == 0 ? Sys.listxattr(pp, pl, (nuint)list.Length) : Sys.llistxattr(pp, pl, (nuint)list.Length);
        if (len < 0)
        {
            int err = Errors.Last;
            if (err is Errors.EOPNOTSUPP or Errors.ENOENT) return result;
            throw new NativeException("listxattr", Where(name), err);
        }
        int start = 0;
        var value = new byte[65536];
        for (int i = 0; i < len; i++)
        {
            if (list[i] != 0) continue;
            string key = Encoding.UTF8.GetString(list, start, i - start);
            start = i + 1;
            byte[] k = Sys.Z(key);
            nint vlen;
            fixed (byte* pp = path) fixed (byte* pk = k) fixed (byte* pv = value)
                vlen = name.Length == 0 ? Sys.getxattr(pp, pk, pv, (nuint)value.Length) : Sys.lgetxattr(pp, pk, pv, (nuint)value.Length);
            if (vlen < 0)
            {
                int err = Errors.Last;
                if (err == Errors.ENODATA) continue;   // removed between list and get
                throw new NativeException($"getxattr {key}", Where(name), err);
            }
            result[key] = value[..(int)vlen];
        }
        return result;
    }
}

public static unsafe partial class Sys
{
    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint listxattr(byte* path, byte* list, nuint size);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint getxattr(byte* path, byte* name, byte* value, nuint size);
}

public sealed unsafe partial class RootedDirectory
{
    /// <summary>The directory at a root-relative path as the kernel resolves it inside the root; null if there is none.</summary>
    public DirectoryHandle? TryOpenDirectory(string relativePath)
    {
        if (relativePath.Length == 0) return OpenDirectory("", create: false);
        int fd = TryOpenInRoot(relativePath, Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_CLOEXEC, out int err);
        if (fd >= 0) return new DirectoryHandle(fd, relativePath);
        if (err is Errors.ENOENT or Errors.ENOTDIR) return null;
        throw new NativeException("open directory", Describe(relativePath), err);
    }
}
