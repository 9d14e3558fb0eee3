using static Tmds.Linux.LibC;

namespace PSContainer.Native;

/// <summary>mount(2) and umount2(2) for the few mounts the engine makes in the host namespace.</summary>
public static unsafe class Mounts
{
    public const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32, MS_BIND = 4096,
        MS_REC = 16384, MS_PRIVATE = 1 << 18, MS_SHARED = 1 << 20;
    public const int MNT_DETACH = 2;

    public static void Mount(string? source, string target, string? fsType, ulong flags, string? data)
    {
        byte[]? s = source is null ? null : Sys.Z(source), t = Sys.Z(target), f = fsType is null ? null : Sys.Z(fsType), d = data is null ? null : Sys.Z(data);
        int rc;
        fixed (byte* ps = s) fixed (byte* pt = t) fixed (byte* pf = f) fixed (byte* pd = d)
            rc = mount(ps, pt, pf, (Tmds.Linux.ulong_t)flags, pd);
        if (rc != 0) throw new NativeException($"mount {fsType ?? "bind"}", target, Errors.Last);
    }

    /// <summary>
    /// Mounts an overlay filesystem. Lower dirs are given top first, as overlayfs wants them. The option string
    /// must fit in one page, which bounds the number of layers (about 40 with our paths).
    /// </summary>
    public static void MountOverlay(IReadOnlyList<string> lowerTopFirst, string? upper, string? work, string target)
    {
        string data = "lowerdir=" + string.Join(':', lowerTopFirst.Select(EscapeOption));
        if (upper is not null) data += ",upperdir=" + EscapeOption(upper) + ",workdir=" + EscapeOption(work!);
        if (data.Length >= 4000)
            throw new NativeException("mount overlay (too many layers for one option page)", target, Errors.EINVAL);
        Mount("overlay", target, "overlay", 0, data);
    }

    private static string EscapeOption(string path) =>
        path.Contains(':') || path.Contains(',') ? throw new NativeException("mount overlay (path contains ':' or ',')", path, Errors.EINVAL) : path;

    /// <summary>Unmounts; a target that is not mounted (EINVAL) or gone (ENOENT) is not an error.</summary>
    public static bool Unmount(string target, bool detach = false)
    {
        byte[] t = Sys.Z(target);
        int rc;
        fixed (byte* pt = t) rc = umount2(pt, detach ? MNT_DETACH : 0);
        if (rc == 0) return true;
        int err = Errors.Last;
        if (err is Errors.EINVAL or Errors.ENOENT) return false;
        throw new NativeException("umount", target, err);
    }

    /// <summary>Whether a path is a mount point (per /proc/self/mountinfo).</summary>
    public static bool IsMountPoint(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd('/');
        foreach (string line in File.ReadLines("/proc/self/mountinfo"))
        {
            string[] f = line.Split(' ');
            if (f.Length > 4 && Unescape(f[4]) == full) return true;
        }
        return false;
    }

    /// <summary>Mount points at or below <paramref name="prefix"/>, deepest first.</summary>
    public static IReadOnlyList<string> MountPointsUnder(string prefix)
    {
        string p = Path.GetFullPath(prefix).TrimEnd('/');
        return File.ReadLines("/proc/self/mountinfo")
            .Select(l => l.Split(' '))
            .Where(f => f.Length > 4)
            .Select(f => Unescape(f[4]))
            .Where(m => m == p || m.StartsWith(p + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.Length)
            .ToList();
    }

    private static string Unescape(string field) =>
        field.Replace("\\040", " ").Replace("\\011", "\t").Replace("\\012", "\n").Replace("\\134", "\\");
}
