namespace PSContainer.Native;

/// <summary>A host device node as stat(2) sees it, to give a container the same device (docker run --device).</summary>
public sealed record DeviceNode(string Path, char Type, long Major, long Minor, int FileMode, uint Uid, uint Gid)
{
    private const uint S_IFMT = 0xF000, S_IFCHR = 0x2000, S_IFBLK = 0x6000;

    /// <summary>The node at <paramref name="path"/> (symbolic links followed, as docker does); null if it is no device.</summary>
    public static unsafe DeviceNode? Stat(string path)
    {
        Tmds.Linux.stat st;
        byte[] p = Sys.Z(path);
        int r;
        fixed (byte* pp = p) r = Tmds.Linux.LibC.stat(pp, &st);
        if (r != 0) throw new NativeException("stat", path, Errors.Last);
        uint mode = (uint)st.st_mode;
        char type = (mode & S_IFMT) switch { S_IFCHR => 'c', S_IFBLK => 'b', _ => '\0' };
        if (type == '\0') return null;
        ulong dev = (ulong)st.st_rdev;
        long major = (long)(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL));
        long minor = (long)((dev & 0xff) | ((dev >> 12) & ~0xffUL));
        return new DeviceNode(path, type, major, minor, (int)(mode & 0xFFF), (uint)st.st_uid, (uint)st.st_gid);
    }

    /// <summary>Every device node under a directory (docker --privileged gives the container all of /dev's).</summary>
    public static IEnumerable<DeviceNode> Under(string directory, IReadOnlySet<string> skip)
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(directory))
        {
            if (skip.Contains(entry)) continue;
            var info = new FileInfo(entry);
            if (info.LinkTarget is not null) continue;
            if ((info.Attributes & FileAttributes.Directory) != 0)
            {
                foreach (var d in Under(entry, skip)) yield return d;
                continue;
            }
            DeviceNode? node;
            try
            {
                node = Stat(entry);
            }
            catch (NativeException)
            {
                continue; // gone while we looked
            }
            if (node is not null) yield return node;
        }
    }
}
