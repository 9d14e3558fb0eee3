using System.Runtime.InteropServices;
using System.Text;

namespace PSContainer.Native;

/// <summary>
/// A sealed in-memory copy of an executable, made once per process and binary, to run it from. psc-runtime must run
/// from such a copy for create, run and exec (CVE-2019-5736: a container process reaching /proc/&lt;runtime&gt;/exe
/// must not find the host's binary) and re-executes itself into one when started from its file: an execve and a
/// copy (~1.5 ms of CPU on the project's VM) on every `runtime exec` the session runs. Started from this copy, it
/// sees the seals and goes on. The copy is made again when the file changes (a rebuild, an upgrade).
/// </summary>
public static unsafe partial class SealedExecutable
{
    private const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2;
    private const int F_ADD_SEALS = 1033, F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4, F_SEAL_WRITE = 8;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int memfd_create(byte* name, uint flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int fcntl_int(int fd, int cmd, int arg);

    private sealed record Copy(int Fd, FileIdentity Source, long Size, DateTime Modified);

    private static readonly Dictionary<string, Copy> Copies = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    /// <summary>
    /// "/proc/self/fd/N" naming a sealed copy of <paramref name="binary"/>: a path a child of this process executes
    /// (the kernel opens it before it closes the close-on-exec descriptors), or null when no copy can be made (then
    /// run the file itself).
    /// </summary>
    public static string? PathOf(string binary)
    {
        FileIdentity source;
        FileInfo info;
        try
        {
            info = new FileInfo(binary);
            if (!info.Exists || FileIdentity.Of(binary) is not FileIdentity id) return null;
            source = id;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NativeException)
        {
            return null;
        }
        lock (Gate)
        {
            if (Copies.TryGetValue(binary, out var copy))
            {
                if (copy.Source == source && copy.Size == info.Length && copy.Modified == info.LastWriteTimeUtc) return PathOf(copy.Fd);
                // The old copy stays open: a spawn on another thread (psc-api serves many) may be about to execute its
                // path, which a closed and reused descriptor number would turn into another file. One descriptor per
                // rebuild of the binary, for the life of the process.
                Copies.Remove(binary);
            }
            int fd = Make(binary);
            if (fd < 0) return null;
            Copies[binary] = new Copy(fd, source, info.Length, info.LastWriteTimeUtc);
            return PathOf(fd);
        }
    }

    private static string PathOf(int fd) => "/proc/self/fd/" + fd.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static int Make(string binary)
    {
        byte[] name = Encoding.UTF8.GetBytes("psc-sealed\0");
        int fd;
        fixed (byte* n = name) fd = memfd_create(n, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) return -1;
        try
        {
            using (var source = File.OpenRead(binary))
            using (var target = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: false), FileAccess.Write, 1))
                source.CopyTo(target, 1 << 16);
            if (fcntl_int(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                throw new NativeException("fcntl F_ADD_SEALS", binary, Errors.Last);
            return fd;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NativeException)
        {
            Tmds.Linux.LibC.close(fd);
            return -1;
        }
    }
}
