using System.Text;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PSContainer.Native;

/// <summary>
/// A directory that untrusted content (an image layer) is written into. Every path is resolved by the kernel with
/// openat2(RESOLVE_IN_ROOT) against the directory's own file descriptor, so a symlink inside the tree (absolute,
/// relative with "..", or swapped in for a directory) is confined to the tree as if chrooted: nothing written
/// through this class can land outside it. Leaf operations take a parent directory descriptor and a single name,
/// and never follow a symlink in that last component.
/// </summary>
public sealed unsafe partial class RootedDirectory : IDisposable
{
    private int rootFd;

    private RootedDirectory(string path, int fd)
    {
        RootPath = path;
        rootFd = fd;
    }

    public string RootPath { get; }

    public static RootedDirectory Open(string path)
    {
        byte[] p = Sys.Z(path);
        int fd;
        fixed (byte* pp = p) fd = openat(AT_FDCWD, pp, Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_CLOEXEC, 0);
        if (fd < 0) throw new NativeException("open directory", path, Errors.Last);
        return new RootedDirectory(path, fd);
    }

    /// <summary>Opens (and with <paramref name="create"/>, makes) the directory at a root-relative path.</summary>
    public DirectoryHandle OpenDirectory(string relativePath, bool create, uint createMode = 0x1ED /*0755*/)
    {
        if (relativePath.Length == 0) return new DirectoryHandle(Dup(rootFd), "");
        int fd = TryOpenInRoot(relativePath, Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_CLOEXEC, out int err);
        if (fd >= 0) return new DirectoryHandle(fd, relativePath);
        if (err != Errors.ENOENT || !create) throw new NativeException("open directory", Describe(relativePath), err);

        // Walk down, making each missing component; each step is resolved in the root again.
        string[] parts = relativePath.Split('/');
        int current = Dup(rootFd);
        try
        {
            var prefix = new StringBuilder();
            foreach (string part in parts)
            {
                if (prefix.Length > 0) prefix.Append('/');
                prefix.Append(part);
                string sofar = prefix.ToString();
                int next = TryOpenInRoot(sofar, Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_CLOEXEC, out err);
                if (next < 0 && err == Errors.ENOENT)
                {
                    byte[] name = Sys.Z(part);
                    int rc;
                    fixed (byte* pn = name) rc = mkdirat(current, pn, (mode_t)(ushort)createMode);
                    if (rc != 0 && Errors.Last != Errors.EEXIST) throw new NativeException("mkdir", Describe(sofar), Errors.Last);
                    next = TryOpenInRoot(sofar, Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_CLOEXEC, out err);
                }
                if (next < 0) throw new NativeException("open directory", Describe(sofar), err);
                close(current);
                current = next;
            }
            int result = current;
            current = -1;
            return new DirectoryHandle(result, relativePath);
        }
        finally
        {
            if (current >= 0) close(current);
        }
    }

    private int TryOpenInRoot(string relativePath, int flags, out int errno)
    {
        byte[] p = Sys.Z(relativePath);
        var how = new open_how { flags = (ulong)flags, mode = 0, resolve = Sys.RESOLVE_IN_ROOT | Sys.RESOLVE_NO_MAGICLINKS };
        int fd;
        fixed (byte* pp = p) fd = openat2(rootFd, pp, &how, (size_t)sizeof(open_how));
        errno = fd < 0 ? Errors.Last : 0;
        return fd;
    }

    private static int Dup(int fd)
    {
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (copy < 0) throw new NativeException("dup", null, Errors.Last);
        return copy;
    }

    private string Describe(string relative) => RootPath.TrimEnd('/') + "/" + relative;

    public void Dispose()
    {
        if (rootFd >= 0) close(rootFd);
        rootFd = -1;
    }
}

/// <summary>An O_PATH descriptor of a directory inside a <see cref="RootedDirectory"/>, with the leaf operations.</summary>
public sealed unsafe partial class DirectoryHandle : IDisposable
{
    private int fd;

    internal DirectoryHandle(int fd, string relativePath)
    {
        this.fd = fd;
        RelativePath = relativePath;
    }

    public int Fd => fd;
    public string RelativePath { get; }

    private string Where(string name) => RelativePath.Length == 0 ? name : RelativePath + "/" + name;

    /// <summary>The file type bits (S_IFMT) of a leaf, without following a symlink; 0 when it does not exist.</summary>
    public uint TypeOf(string name)
    {
        byte[] n = Sys.Z(name);
        stat st;
        int rc;
        fixed (byte* pn = n) rc = fstatat(fd, pn, &st, Sys.AT_SYMLINK_NOFOLLOW);
        if (rc != 0)
        {
            int err = Errors.Last;
            if (err == Errors.ENOENT) return 0;
            throw new NativeException("stat", Where(name), err);
        }
        return (uint)(ushort)st.st_mode & Sys.S_IFMT;
    }

    public void MakeDirectory(string name, uint mode)
    {
        byte[] n = Sys.Z(name);
        int rc;
        fixed (byte* pn = n) rc = mkdirat(fd, pn, (mode_t)(ushort)(mode & 0xFFF));
        if (rc != 0) throw new NativeException("mkdir", Where(name), Errors.Last);
    }

    /// <summary>Creates a new regular file (never through an existing name or symlink) and returns it open for writing.</summary>
    public SafeFileHandle CreateFile(string name)
    {
        byte[] n = Sys.Z(name);
        int f;
        fixed (byte* pn = n) f = openat(fd, pn, Sys.O_WRONLY | Sys.O_CREAT | Sys.O_EXCL | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0x180);
        if (f < 0) throw new NativeException("create file", Where(name), Errors.Last);
        return new SafeFileHandle(f, ownsHandle: true);
    }

    public void MakeSymlink(string name, string target)
    {
        byte[] n = Sys.Z(name), t = Sys.Z(target);
        int rc;
        fixed (byte* pn = n) fixed (byte* pt = t) rc = symlinkat(pt, fd, pn);
        if (rc != 0) throw new NativeException("symlink", Where(name), Errors.Last);
    }

    /// <summary>Hard-links <paramref name="name"/> to an existing leaf of another directory of the same tree.</summary>
    public void MakeHardLink(string name, DirectoryHandle targetDirectory, string targetName)
    {
        byte[] n = Sys.Z(name), t = Sys.Z(targetName);
        int rc;
        // flags 0: a symlink target is linked itself, never followed.
        fixed (byte* pn = n) fixed (byte* pt = t) rc = linkat(targetDirectory.fd, pt, fd, pn, 0);
        if (rc != 0) throw new NativeException("hard link", Where(name) + " -> " + targetDirectory.Where(targetName), Errors.Last);
    }

    public void MakeNode(string name, uint typeAndMode, uint major, uint minor)
    {
        byte[] n = Sys.Z(name);
        int rc;
        fixed (byte* pn = n) rc = mknodat(fd, pn, (mode_t)(ushort)typeAndMode, (dev_t)Sys.MakeDev(major, minor));
        if (rc != 0) throw new NativeException("mknod", Where(name), Errors.Last);
    }

    public void Remove(string name, bool directory)
    {
        byte[] n = Sys.Z(name);
        int rc;
        fixed (byte* pn = n) rc = unlinkat(fd, pn, directory ? Sys.AT_REMOVEDIR : 0);
        if (rc != 0 && Errors.Last != Errors.ENOENT) throw new NativeException(directory ? "rmdir" : "unlink", Where(name), Errors.Last);
    }

    /// <summary>Removes a leaf and, if it is a real directory, everything under it (symlinks are removed, not followed).</summary>
    public void RemoveTree(string name)
    {
        uint type = TypeOf(name);
        if (type == 0) return;
        if (type != Sys.S_IFDIR)
        {
            Remove(name, directory: false);
            return;
        }
        using (var child = OpenChildDirectory(name))
        {
            foreach (string entry in child.List()) child.RemoveTree(entry);
        }
        Remove(name, directory: true);
    }

    private DirectoryHandle OpenChildDirectory(string name)
    {
        byte[] n = Sys.Z(name);
        int f;
        fixed (byte* pn = n) f = openat(fd, pn, Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0);
        if (f < 0) throw new NativeException("open directory", Where(name), Errors.Last);
        return new DirectoryHandle(f, Where(name));
    }

    /// <summary>The names in this directory (through /proc/self/fd, which names exactly this open directory).</summary>
    public string[] List() =>
        Directory.EnumerateFileSystemEntries($"/proc/self/fd/{fd}").Select(Path.GetFileName).OfType<string>().ToArray();

    public void SetOwner(string name, uint uid, uint gid)
    {
        byte[] n = Sys.Z(name);
        int rc;
        fixed (byte* pn = n) rc = fchownat(fd, pn, uid, gid, Sys.AT_SYMLINK_NOFOLLOW | (name.Length == 0 ? Sys.AT_EMPTY_PATH : 0));
        if (rc != 0) throw new NativeException("chown", Where(name), Errors.Last);
    }

    /// <summary>chmod of a leaf that is known not to be a symlink (Linux cannot chmod symlinks).</summary>
    public void SetMode(string name, uint mode)
    {
        if (name.Length == 0)
        {
            // The directory itself: O_PATH descriptors cannot be fchmod'ed, /proc/self/fd names the same inode.
            byte[] self = Sys.Z($"/proc/self/fd/{fd}");
            int r;
            fixed (byte* ps = self) r = fchmodat(AT_FDCWD, ps, (mode_t)(ushort)(mode & 0xFFF), 0);
            if (r != 0) throw new NativeException("chmod", RelativePath, Errors.Last);
            return;
        }
        if (TypeOf(name) == Sys.S_IFLNK) return;
        byte[] n = Sys.Z(name);
        int rc;
        fixed (byte* pn = n) rc = fchmodat(fd, pn, (mode_t)(ushort)(mode & 0xFFF), 0);
        if (rc != 0) throw new NativeException("chmod", Where(name), Errors.Last);
    }

    public void SetTimes(string name, DateTimeOffset access, DateTimeOffset modified)
    {
        byte[] n = Sys.Z(name);
        timespec* times = stackalloc timespec[2];
        times[0] = ToTimespec(access);
        times[1] = ToTimespec(modified);
        int rc;
        fixed (byte* pn = n) rc = utimensat(fd, pn, times, Sys.AT_SYMLINK_NOFOLLOW | (name.Length == 0 ? Sys.AT_EMPTY_PATH : 0));
        if (rc != 0 && name.Length == 0)
        {
            byte[] self = Sys.Z($"/proc/self/fd/{fd}");
            fixed (byte* ps = self) rc = utimensat(AT_FDCWD, ps, times, 0);
        }
        if (rc != 0) throw new NativeException("set times", Where(name), Errors.Last);
    }

    private static timespec ToTimespec(DateTimeOffset t)
    {
        long ticks = (t.UtcDateTime - DateTime.UnixEpoch).Ticks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rest);
        if (rest < 0) { seconds--; rest += TimeSpan.TicksPerSecond; }
        return new timespec { tv_sec = seconds, tv_nsec = (long_t)(rest * 100) };
    }

    /// <summary>Sets an extended attribute on a leaf without following it if it is a symlink.</summary>
    public void SetXattr(string name, string key, byte[] value)
    {
        byte[] path = Sys.Z(name.Length == 0 ? $"/proc/self/fd/{fd}" : $"/proc/self/fd/{fd}/{name}");
        byte[] k = Sys.Z(key);
        int rc;
        fixed (byte* pp = path) fixed (byte* pk = k) fixed (byte* pv = value)
            // The directory itself is named by its /proc magic link, which must be followed; a leaf must not be.
            rc = name.Length == 0 ? Sys.setxattr(pp, pk, pv, (nuint)value.Length, 0) : Sys.lsetxattr(pp, pk, pv, (nuint)value.Length, 0);
        if (rc != 0) throw new NativeException($"setxattr {key}", Where(name), Errors.Last);
    }

    public void Dispose()
    {
        if (fd >= 0) close(fd);
        fd = -1;
    }
}
