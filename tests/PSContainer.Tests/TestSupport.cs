using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Tests;

/// <summary>A private temporary directory (/tmp/psc-unit-GUID), removed without following symlinks.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"psc-unit-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public string CreateDirectory(params string[] parts)
    {
        string p = Combine(parts);
        Directory.CreateDirectory(p);
        return p;
    }

    /// <summary>Writes a file at a /-separated path below the directory, making its parents.</summary>
    public string WriteFile(string relative, string content)
    {
        string p = Combine(relative.Split('/'));
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        File.WriteAllText(p, content);
        return p;
    }

    public void Dispose() => LayerStore.DeleteTree(Path);
}

/// <summary>What lstat says about a path (statx, never following a final symlink).</summary>
public sealed record FileStat(uint Type, uint Mode, uint Uid, uint Gid, ulong Inode, uint Links, ulong Size,
    long MtimeSeconds, uint MtimeNanos, uint RdevMajor, uint RdevMinor)
{
    public bool IsDirectory => Type == Sys.S_IFDIR;
    public bool IsRegular => Type == Sys.S_IFREG;
    public bool IsSymlink => Type == Sys.S_IFLNK;
    public bool IsCharDevice => Type == Sys.S_IFCHR;
    public bool IsBlockDevice => Type == Sys.S_IFBLK;
    public bool IsFifo => Type == Sys.S_IFIFO;
}

public static unsafe class Posix
{
    public static FileStat? TryStat(string path)
    {
        byte[] p = Sys.Z(path);
        Tmds.Linux.statx st;
        int rc;
        fixed (byte* pp = p) rc = Tmds.Linux.LibC.statx(Sys.AT_FDCWD, pp, Sys.AT_SYMLINK_NOFOLLOW, 0xfff, &st);
        if (rc != 0)
        {
            int err = Errors.Last;
            if (err is Errors.ENOENT or Errors.ENOTDIR) return null;
            throw new NativeException("statx", path, err);
        }
        return new FileStat(st.stx_mode & Sys.S_IFMT, st.stx_mode & 0xFFFu, st.stx_uid, st.stx_gid, st.stx_ino, st.stx_nlink,
            st.stx_size, st.stx_mtime.tv_sec, st.stx_mtime.tv_nsec, st.stx_rdev_major, st.stx_rdev_minor);
    }

    public static FileStat Stat(string path) => TryStat(path) ?? throw new FileNotFoundException("no such path", path);

    public static bool Exists(string path) => TryStat(path) is not null;

    /// <summary>An extended attribute's raw value, or null if the path does not have it (never follows a symlink).</summary>
    public static byte[]? GetXattr(string path, string name)
    {
        byte[] p = Sys.Z(path), n = Sys.Z(name);
        var buffer = new byte[65536];
        nint rc;
        fixed (byte* pp = p) fixed (byte* pn = n) fixed (byte* pb = buffer) rc = Sys.lgetxattr(pp, pn, pb, (nuint)buffer.Length);
        if (rc < 0)
        {
            int err = Errors.Last;
            if (err == Errors.ENODATA) return null;
            throw new NativeException("lgetxattr " + name, path, err);
        }
        return buffer.AsSpan(0, (int)rc).ToArray();
    }

    public static void SetXattr(string path, string name, byte[] value)
    {
        byte[] p = Sys.Z(path), n = Sys.Z(name);
        int rc;
        fixed (byte* pp = p) fixed (byte* pn = n) fixed (byte* pv = value) rc = Sys.lsetxattr(pp, pn, pv, (nuint)value.Length, 0);
        if (rc != 0) throw new NativeException("lsetxattr " + name, path, Errors.Last);
    }

    public static void Chown(string path, uint uid, uint gid)
    {
        byte[] p = Sys.Z(path);
        int rc;
        fixed (byte* pp = p) rc = Tmds.Linux.LibC.lchown(pp, uid, gid);
        if (rc != 0) throw new NativeException("lchown", path, Errors.Last);
    }

    public static void Chmod(string path, uint mode)
    {
        byte[] p = Sys.Z(path);
        int rc;
        fixed (byte* pp = p) rc = Tmds.Linux.LibC.chmod(pp, (Tmds.Linux.mode_t)(ushort)mode);
        if (rc != 0) throw new NativeException("chmod", path, Errors.Last);
    }

    public static void Link(string existing, string newPath)
    {
        byte[] a = Sys.Z(existing), b = Sys.Z(newPath);
        int rc;
        fixed (byte* pa = a) fixed (byte* pb = b) rc = Tmds.Linux.LibC.link(pa, pb);
        if (rc != 0) throw new NativeException("link", newPath, Errors.Last);
    }

    public static void MakeNode(string path, uint typeAndMode, uint major, uint minor)
    {
        byte[] p = Sys.Z(path);
        int rc;
        fixed (byte* pp = p) rc = Tmds.Linux.LibC.mknod(pp, (Tmds.Linux.mode_t)(ushort)typeAndMode, (Tmds.Linux.dev_t)Sys.MakeDev(major, minor));
        if (rc != 0) throw new NativeException("mknod", path, Errors.Last);
    }

    /// <summary>Runs a program (no shell) and returns its stdout; throws with stderr when it fails.</summary>
    public static string Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + program);
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}");
        return stdout;
    }

    public static bool HasProgram(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Any(d => d.Length > 0 && File.Exists(System.IO.Path.Combine(d, name)));
}

/// <summary>
/// A snapshot of a directory tree: every entry's type, mode, owner, size, mtime, link count, symlink target, content
/// hash and xattrs. Two snapshots are equal only if nothing in the tree was created, removed or modified.
/// </summary>
public static class TreeSnapshot
{
    public static string Take(string root)
    {
        var sb = new StringBuilder();
        Walk(root, "", sb);
        return sb.ToString();
    }

    private static void Walk(string root, string relative, StringBuilder sb)
    {
        string full = relative.Length == 0 ? root : Path.Combine(root, relative);
        var st = Posix.Stat(full);
        sb.Append(relative).Append(' ').Append(st.Type).Append(' ').Append(st.Mode).Append(' ').Append(st.Uid).Append(':').Append(st.Gid)
          .Append(' ').Append(st.Links).Append(' ').Append(st.MtimeSeconds).Append('.').Append(st.MtimeNanos).Append(' ').Append(st.Size);
        if (st.IsSymlink) sb.Append(" -> ").Append(new FileInfo(full).LinkTarget);
        if (st.IsRegular) sb.Append(" sha=").Append(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(full))));
        foreach (string x in new[] { "user.psc", "trusted.psc", "trusted.overlay.opaque", "security.capability" })
        {
            var v = Posix.GetXattr(full, x);
            if (v is not null) sb.Append(' ').Append(x).Append('=').Append(Convert.ToHexString(v));
        }
        sb.Append('\n');
        if (!st.IsDirectory) return;
        foreach (string child in Directory.EnumerateFileSystemEntries(full).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal))
            Walk(root, relative.Length == 0 ? child : Path.Combine(relative, child), sb);
    }
}

/// <summary>
/// Writes tar archives byte by byte (ustar headers, optional PAX records with raw byte values), so a test can
/// make any archive a hostile or broken producer could, without a library normalizing names on the way.
/// </summary>
public sealed class RawTar
{
    public const char File = '0', HardLink = '1', Symlink = '2', CharDevice = '3', BlockDevice = '4', Directory = '5', Fifo = '6';

    private readonly MemoryStream output = new();

    public static readonly DateTimeOffset DefaultTime = DateTimeOffset.FromUnixTimeSeconds(1_600_000_000);

    public RawTar Add(string name, char type = File, byte[]? data = null, string link = "", uint mode = 0x1A4, uint uid = 0, uint gid = 0,
        long? mtime = null, uint major = 0, uint minor = 0, IEnumerable<(string Key, byte[] Value)>? pax = null)
    {
        data ??= [];
        var records = new List<(string, byte[])>(pax ?? []);
        if (Encoding.UTF8.GetByteCount(name) > 100) records.Add(("path", Encoding.UTF8.GetBytes(name)));
        if (Encoding.UTF8.GetByteCount(link) > 100) records.Add(("linkpath", Encoding.UTF8.GetBytes(link)));
        if (records.Count > 0)
        {
            byte[] paxData = PaxData(records);
            WriteBlock(Header("PaxHeaders/" + Truncate(name, 80), 'x', paxData.Length, "", 0x1A4, 0, 0, mtime ?? DefaultTime.ToUnixTimeSeconds(), 0, 0));
            WriteData(paxData);
        }
        WriteBlock(Header(Truncate(name, 100), type, data.Length, Truncate(link, 100), mode, uid, gid, mtime ?? DefaultTime.ToUnixTimeSeconds(), major, minor));
        WriteData(data);
        return this;
    }

    public RawTar File1(string name, string content, uint mode = 0x1A4) => Add(name, File, Encoding.UTF8.GetBytes(content), mode: mode);

    public RawTar Raw(byte[] bytes)
    {
        output.Write(bytes);
        return this;
    }

    /// <summary>The archive with its two-zero-block end marker.</summary>
    public byte[] ToArray()
    {
        var copy = new MemoryStream();
        output.Position = 0;
        output.CopyTo(copy);
        copy.Write(new byte[1024]);
        return copy.ToArray();
    }

    private static string Truncate(string s, int bytes)
    {
        while (Encoding.UTF8.GetByteCount(s) > bytes) s = s[1..];
        return s;
    }

    private void WriteBlock(byte[] block) => output.Write(block);

    private void WriteData(byte[] data)
    {
        output.Write(data);
        int pad = (512 - data.Length % 512) % 512;
        output.Write(new byte[pad]);
    }

    public static byte[] PaxData(IEnumerable<(string Key, byte[] Value)> records)
    {
        var ms = new MemoryStream();
        foreach (var (key, value) in records)
        {
            int rest = 3 + Encoding.UTF8.GetByteCount(key) + value.Length; // ' ', '=', '\n'
            int length = rest + 1;
            while (length.ToString(System.Globalization.CultureInfo.InvariantCulture).Length + rest != length) length++;
            ms.Write(Encoding.ASCII.GetBytes(length.ToString(System.Globalization.CultureInfo.InvariantCulture) + " " ));
            ms.Write(Encoding.UTF8.GetBytes(key + "="));
            ms.Write(value);
            ms.WriteByte((byte)'\n');
        }
        return ms.ToArray();
    }

    public static byte[] Header(string name, char type, long size, string link, uint mode, uint uid, uint gid, long mtime, uint major, uint minor)
    {
        var h = new byte[512];
        Put(h, 0, 100, Encoding.UTF8.GetBytes(name));
        Octal(h, 100, 8, mode);
        Octal(h, 108, 8, uid);
        Octal(h, 116, 8, gid);
        Octal(h, 124, 12, size);
        Octal(h, 136, 12, mtime);
        h[156] = (byte)type;
        Put(h, 157, 100, Encoding.UTF8.GetBytes(link));
        Put(h, 257, 6, "ustar\0"u8.ToArray());
        Put(h, 263, 2, "00"u8.ToArray());
        Put(h, 265, 32, "root"u8.ToArray());
        Put(h, 297, 32, "root"u8.ToArray());
        Octal(h, 329, 8, major);
        Octal(h, 337, 8, minor);
        SetChecksum(h);
        return h;
    }

    public static void SetChecksum(byte[] h, int offset = 0)
    {
        for (int i = 148; i < 156; i++) h[offset + i] = (byte)' ';
        long sum = 0;
        for (int i = 0; i < 512; i++) sum += h[offset + i];
        byte[] text = Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ");
        Array.Copy(text, 0, h, offset + 148, 8);
    }

    private static void Put(byte[] h, int offset, int length, byte[] value)
    {
        if (value.Length > length) throw new ArgumentException("field too long");
        Array.Copy(value, 0, h, offset, value.Length);
    }

    private static void Octal(byte[] h, int offset, int length, long value)
    {
        string text = Convert.ToString(value, 8).PadLeft(length - 1, '0');
        Put(h, offset, length, Encoding.ASCII.GetBytes(text + "\0"));
    }
}

/// <summary>A stream that refuses to seek, like a network or decompression stream.</summary>
public sealed class NonSeekableStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
