using System.Text;

namespace PSContainer.Native;

/// <summary>
/// How overlayfs marks what an upper (or unpacked lower) layer hides: a whiteout is a 0/0 character device, an
/// opaque directory carries overlay.opaque=y (trusted.* when the mount is made by the host's root, user.* under
/// userxattr mounts).
/// </summary>
public static unsafe class OverlayFiles
{
    private const uint S_IFMT = 0xF000, S_IFCHR = 0x2000;

    /// <summary>Whether the path (not followed if a symlink) is a whiteout; false when it does not exist.</summary>
    public static bool IsWhiteout(string path)
    {
        Tmds.Linux.stat st;
        byte[] p = Sys.Z(path);
        int r;
        fixed (byte* pp = p) r = Tmds.Linux.LibC.lstat(pp, &st);
        if (r != 0)
        {
            int errno = Errors.Last;
            if (errno is Errors.ENOENT or Errors.ENOTDIR) return false;
            throw new NativeException("lstat", path, errno);
        }
        return ((uint)st.st_mode & S_IFMT) == S_IFCHR && (ulong)st.st_rdev == 0;
    }

    /// <summary>Whether a directory is opaque: nothing of the same directory in lower layers shows through.</summary>
    public static bool IsOpaque(string directory) =>
        Get(directory, "trusted.overlay.opaque") is [(byte)'y'] || Get(directory, "user.overlay.opaque") is [(byte)'y'];

    /// <summary>An extended attribute's value, or null when the path has none of that name (or the file system keeps none).</summary>
    public static byte[]? Get(string path, string name)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0"), n = Encoding.UTF8.GetBytes(name + "\0");
        byte[] buffer = new byte[256];
        fixed (byte* pp = p, np = n, bp = buffer)
        {
            nint size = Sys.lgetxattr(pp, np, bp, (nuint)buffer.Length);
            if (size >= 0) return buffer[..(int)size];
            int errno = Errors.Last;
            if (errno is Errors.ENODATA or Errors.EOPNOTSUPP or Errors.ENOENT) return null;
            throw new NativeException("lgetxattr", path, errno);
        }
    }
}
