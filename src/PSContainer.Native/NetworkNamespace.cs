using System.Runtime.InteropServices;
using static Tmds.Linux.LibC;

namespace PSContainer.Native;

/// <summary>
/// Persistent network namespaces, as `ip netns add` makes them: a namespace pinned by a bind mount of its nsfs
/// file, so containers (and any OCI runtime) can join it by path and it outlives the process that made it.
/// </summary>
public static unsafe class NetworkNamespace
{
    private const int CLONE_NEWNET = 0x40000000;
    private const int AF_INET = 2, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
    private const int SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
    private const short IFF_UP = 0x1;

    [StructLayout(LayoutKind.Sequential)]
    private struct IfReq
    {
        public fixed byte Name[16];
        public short Flags;
        public fixed byte Pad[22];
    }

    /// <summary>
    /// Creates a new network namespace pinned at <paramref name="path"/>, with its loopback interface up. The
    /// unshare happens on a dedicated thread that ends afterwards: namespaces are per thread, and a pool thread
    /// must never be left in the wrong one.
    /// </summary>
    public static void Create(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (File.Create(path)) { }
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            int original = -1;
            try
            {
                byte[] self = Sys.Z("/proc/thread-self/ns/net");
                fixed (byte* ps = self) original = open(ps, Sys.O_RDONLY | Sys.O_CLOEXEC, 0);
                if (original < 0) throw new NativeException("open", "/proc/thread-self/ns/net", Errors.Last);
                if (unshare(CLONE_NEWNET) != 0) throw new NativeException("unshare(CLONE_NEWNET)", null, Errors.Last);
                try
                {
                    Mounts.Mount("/proc/thread-self/ns/net", path, null, Mounts.MS_BIND, null);
                    SetLinkUp("lo");
                }
                finally
                {
                    if (setns(original, CLONE_NEWNET) != 0) failure ??= new NativeException("setns back to the host namespace", null, Errors.Last);
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                if (original >= 0) close(original);
            }
        }, 256 * 1024) { IsBackground = true, Name = "psc-netns" };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            Delete(path);
            throw failure;
        }
    }

    private static void SetLinkUp(string name)
    {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0) throw new NativeException("socket", null, Errors.Last);
        try
        {
            IfReq req;
            byte[] n = Sys.Z(name);
            for (int i = 0; i < n.Length && i < 16; i++) req.Name[i] = n[i];
            if (ioctl(s, SIOCGIFFLAGS, &req) != 0) throw new NativeException("SIOCGIFFLAGS", name, Errors.Last);
            req.Flags |= IFF_UP;
            if (ioctl(s, SIOCSIFFLAGS, &req) != 0) throw new NativeException("SIOCSIFFLAGS", name, Errors.Last);
        }
        finally
        {
            close(s);
        }
    }

    /// <summary>Unpins and removes a namespace file; a missing one is not an error.</summary>
    public static void Delete(string path)
    {
        if (!File.Exists(path)) return;
        Mounts.Unmount(path, detach: true);
        File.Delete(path);
    }
}
