using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PSContainer.Native;

/// <summary>
/// Shifts the owners of every entry of a directory tree into a user namespace's id range: uid U becomes
/// <c>uidBase + U</c> (ids past the range become the range's overflow id, 65534 inside). For the copy of a layer a
/// kernel without idmapped mounts needs. Symlinks are never followed; a hard-linked inode is shifted once; the
/// set-id bits chown(2) clears are put back.
/// </summary>
public static unsafe class OwnershipShift
{
    private const long Overflow = 65534;

    public static void ShiftTree(string root, long uidBase, long gidBase, long size)
    {
        var seen = new HashSet<(ulong Dev, ulong Ino)>();
        Shift(root, uidBase, gidBase, size, seen);
    }

    /// <summary>chown(2) of one path (following a symlink).</summary>
    public static void Chown(string path, long uid, long gid)
    {
        byte[] p = Sys.Z(path);
        int rc;
        fixed (byte* pp = p) rc = chown(pp, (uint)uid, (uint)gid);
        if (rc != 0) throw new NativeException("chown", path, Errors.Last);
    }

    /// <summary>The owner (uid) of a path, not following a symlink.</summary>
    public static long OwnerOf(string path)
    {
        byte[] p = Sys.Z(path);
        stat st;
        int rc;
        fixed (byte* pp = p) rc = lstat(pp, &st);
        if (rc != 0) throw new NativeException("lstat", path, Errors.Last);
        return (uint)st.st_uid;
    }

    private static void Shift(string path, long uidBase, long gidBase, long size, HashSet<(ulong, ulong)> seen)
    {
        byte[] p = Sys.Z(path);
        stat st;
        int rc;
        fixed (byte* pp = p) rc = lstat(pp, &st);
        if (rc != 0) throw new NativeException("lstat", path, Errors.Last);
        uint mode = (uint)(ushort)st.st_mode;
        uint type = mode & Sys.S_IFMT;
        if (type != Sys.S_IFDIR && (ulong)st.st_nlink > 1 && !seen.Add(((ulong)st.st_dev, (ulong)st.st_ino))) return;
        long uid = (uint)st.st_uid, gid = (uint)st.st_gid;
        uint newUid = (uint)(uidBase + (uid < size ? uid : Overflow)), newGid = (uint)(gidBase + (gid < size ? gid : Overflow));
        fixed (byte* pp = p) rc = lchown(pp, newUid, newGid);
        if (rc != 0) throw new NativeException("lchown", path, Errors.Last);
        if (type != Sys.S_IFLNK && (mode & 0xC00) != 0) // S_ISUID | S_ISGID: chown cleared them
        {
            fixed (byte* pp = p) rc = chmod(pp, (mode_t)(ushort)(mode & 0xFFF));
            if (rc != 0) throw new NativeException("chmod", path, Errors.Last);
        }
        if (type != Sys.S_IFDIR) return;
        foreach (string entry in Directory.EnumerateFileSystemEntries(path, "*", new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = false }))
            Shift(entry, uidBase, gidBase, size, seen);
    }
}
