using System.Runtime.InteropServices;
using System.Text;

namespace PSContainer.Native;

/// <summary>
/// Unix stream sockets on raw fds, for what System.Net.Sockets cannot do: receive a descriptor (SCM_RIGHTS, runc's
/// console-socket protocol: the runtime sends the pty master it made inside the container) and poll them together
/// with a terminal. Paths longer than sun_path (108 bytes) are reached through /proc/self/fd/N of an open directory,
/// as conmon does for its attach socket.
/// </summary>
public static unsafe partial class UnixSocket
{
    private const string Libc = "libc";
    private const int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000, SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_CMSG_CLOEXEC = 0x40000000;
    public const short POLLIN = 0x001, POLLOUT = 0x004, POLLERR = 0x008, POLLHUP = 0x010, POLLNVAL = 0x020;

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int bind(int fd, byte* addr, int len);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int connect(int fd, byte* addr, int len);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int listen(int fd, int backlog);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int accept4(int fd, byte* addr, int* len, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial nint recvmsg(int fd, byte* msg, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int poll(PollFd* fds, nuint n, int timeout);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial nint read(int fd, byte* buf, nuint n);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial nint write(int fd, byte* buf, nuint n);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int shutdown(int fd, int how);

    private const int SHUT_RDWR = 2;

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int close(int fd);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    private static int Address(string path, byte* addr)
    {
        byte[] p = Encoding.UTF8.GetBytes(path);
        if (p.Length >= 108) throw new NativeException("sockaddr_un", path, 36 /* ENAMETOOLONG */);
        new Span<byte>(addr, 110).Clear();
        *(ushort*)addr = AF_UNIX;
        p.CopyTo(new Span<byte>(addr + 2, 108));
        return 2 + p.Length + 1;
    }

    /// <summary>A listening socket bound to <paramref name="path"/> (close-on-exec).</summary>
    public static int Listen(string path)
    {
        byte* addr = stackalloc byte[110];
        int len = Address(path, addr);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw new NativeException("socket", path, Errors.Last);
        if (bind(fd, addr, len) != 0 || listen(fd, 4) != 0)
        {
            int e = Errors.Last;
            close(fd);
            throw new NativeException("bind/listen", path, e);
        }
        return fd;
    }

    /// <summary>A connected socket to <paramref name="path"/> (close-on-exec).</summary>
    public static int Connect(string path)
    {
        byte* addr = stackalloc byte[110];
        int len = Address(path, addr);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw new NativeException("socket", path, Errors.Last);
        int rc;
        while ((rc = connect(fd, addr, len)) != 0 && Errors.Last == Errors.EINTR) { }
        if (rc != 0)
        {
            int e = Errors.Last;
            close(fd);
            throw new NativeException("connect", path, e);
        }
        return fd;
    }

    /// <summary>
    /// Connects to socket <paramref name="name"/> in <paramref name="directory"/> through /proc/self/fd/N of the
    /// open directory, so the directory's path may be longer than a socket address.
    /// </summary>
    public static int ConnectInDirectory(string directory, string name)
    {
        byte[] d = Sys.Z(directory);
        int dirFd;
        fixed (byte* pd = d) dirFd = Tmds.Linux.LibC.open(pd, Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_CLOEXEC, 0);
        if (dirFd < 0) throw new NativeException("open", directory, Errors.Last);
        try
        {
            return Connect($"/proc/self/fd/{dirFd}/{name}");
        }
        finally
        {
            close(dirFd);
        }
    }

    /// <summary>
    /// Waits for a connection and the one descriptor it sends (runc's console socket), polling every 100 ms whether
    /// to give up (the runtime exited). Returns the received fd (close-on-exec), or -1 when given up or timed out.
    /// </summary>
    public static int AcceptDescriptor(int listenFd, TimeSpan timeout, Func<bool> giveUp)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Wait(listenFd, POLLIN, 100))
            if (giveUp() || DateTime.UtcNow > deadline) return -1;
        int conn;
        while ((conn = accept4(listenFd, null, null, SOCK_CLOEXEC)) < 0 && Errors.Last == Errors.EINTR) { }
        if (conn < 0) throw new NativeException("accept", null, Errors.Last);
        try
        {
            while (!Wait(conn, POLLIN, 100))
                if (giveUp() || DateTime.UtcNow > deadline) return -1;
            return ReceiveDescriptor(conn);
        }
        finally
        {
            close(conn);
        }
    }

    /// <summary>recvmsg of one SCM_RIGHTS descriptor (the payload, the pty's name, is read and dropped).</summary>
    public static int ReceiveDescriptor(int conn)
    {
        byte* name = stackalloc byte[4096];
        byte* iov = stackalloc byte[16];
        byte* control = stackalloc byte[64];
        byte* msg = stackalloc byte[56];
        new Span<byte>(msg, 56).Clear();
        new Span<byte>(control, 64).Clear();
        *(byte**)iov = name;
        *(nuint*)(iov + 8) = 4096;
        // struct msghdr (LP64): name, namelen(+pad), iov, iovlen, control, controllen, flags
        *(byte**)(msg + 16) = iov;
        *(nuint*)(msg + 24) = 1;
        *(byte**)(msg + 32) = control;
        *(nuint*)(msg + 40) = 64;
        nint n;
        while ((n = recvmsg(conn, msg, MSG_CMSG_CLOEXEC)) < 0 && Errors.Last == Errors.EINTR) { }
        if (n < 0) throw new NativeException("recvmsg", null, Errors.Last);
        nuint controlLen = *(nuint*)(msg + 40);
        // struct cmsghdr: len (size_t), level, type, data
        if (controlLen < 20 || *(int*)(control + 8) != SOL_SOCKET || *(int*)(control + 12) != SCM_RIGHTS)
            throw new NativeException("recvmsg: no descriptor was sent", null, Errors.EINVAL);
        return *(int*)(control + 16);
    }

    /// <summary>poll() of one fd; true when any of <paramref name="events"/> (or an error/hang-up) is ready.</summary>
    public static bool Wait(int fd, short events, int timeoutMs)
    {
        var p = new PollFd { Fd = fd, Events = events };
        int rc = poll(&p, 1, timeoutMs);
        if (rc < 0 && Errors.Last != Errors.EINTR) throw new NativeException("poll", null, Errors.Last);
        return rc > 0;
    }

    /// <summary>poll() of several fds; the revents are filled in. Returns how many are ready (0 on timeout or EINTR).</summary>
    public static int Poll(Span<PollFd> fds, int timeoutMs)
    {
        fixed (PollFd* p = fds)
        {
            int rc = poll(p, (nuint)fds.Length, timeoutMs);
            if (rc < 0 && Errors.Last != Errors.EINTR) throw new NativeException("poll", null, Errors.Last);
            return Math.Max(rc, 0);
        }
    }

    /// <summary>read(2): bytes read, 0 at end of file; -errno on error (EIO is a pty whose other side closed).</summary>
    public static int Read(int fd, Span<byte> buffer)
    {
        fixed (byte* b = buffer)
        {
            nint n;
            while ((n = read(fd, b, (nuint)buffer.Length)) < 0 && Errors.Last == Errors.EINTR) { }
            return n < 0 ? -Errors.Last : (int)n;
        }
    }

    /// <summary>Writes everything (retrying short writes and EAGAIN); false when the other side is gone.</summary>
    public static bool WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* b = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = write(fd, b + done, (nuint)(data.Length - done));
                if (n < 0)
                {
                    int e = Errors.Last;
                    if (e == Errors.EINTR) continue;
                    if (e == Errors.EAGAIN)
                    {
                        Wait(fd, POLLOUT, 100);
                        continue;
                    }
                    return false;
                }
                done += (int)n;
            }
            return true;
        }
    }

    /// <summary>Shuts both directions of a connected socket: a write or read blocked on it in another thread
    /// returns (close(2) would not wake it, and would free the number for reuse under it). Errors are moot: the
    /// connection is being abandoned.</summary>
    public static void Shutdown(int fd)
    {
        if (fd >= 0) shutdown(fd, SHUT_RDWR);
    }

    public static void Close(int fd)
    {
        if (fd >= 0) close(fd);
    }
}
