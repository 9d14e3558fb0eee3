using System.Runtime.InteropServices;

namespace PSContainer.Native.Netlink;

/// <summary>A netlink request the kernel refused, with its errno.</summary>
public sealed class NetlinkException(string operation, int errno) : IOException($"{operation}: {Errors.Describe(errno)} (errno {errno})", errno)
{
    public string Operation { get; } = operation;
    public int Errno { get; } = errno;
}

/// <summary>
/// A NETLINK_ROUTE socket. A netlink socket stays bound to the network namespace it was created in, so one made
/// by <see cref="OpenIn"/> (on a short-lived thread that setns()'d into the namespace) configures that namespace
/// from any thread afterwards.
/// </summary>
public sealed unsafe partial class NetlinkSocket : IDisposable
{
    private const int SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000, SOL_SOCKET = 1, SO_RCVBUF = 8, SOL_NETLINK = 270, NETLINK_EXT_ACK = 11;
    private const int CLONE_NEWNET = 0x40000000;
    private int fd;
    private uint sequence = (uint)Environment.TickCount;

    [LibraryImport("libc", SetLastError = true)] private static partial int socket(int domain, int type, int protocol);
    [LibraryImport("libc", SetLastError = true)] private static partial int bind(int fd, byte* addr, int len);
    [LibraryImport("libc", SetLastError = true)] private static partial nint send(int fd, byte* buf, nuint len, int flags);
    [LibraryImport("libc", SetLastError = true)] private static partial nint recv(int fd, byte* buf, nuint len, int flags);
    [LibraryImport("libc", SetLastError = true)] private static partial int close(int fd);
    [LibraryImport("libc", SetLastError = true)] private static partial int setsockopt(int fd, int level, int name, int* value, int len);
    [LibraryImport("libc", SetLastError = true)] private static partial int setns(int fd, int nstype);
    [LibraryImport("libc", SetLastError = true)] private static partial int open(byte* path, int flags, int mode);

    private NetlinkSocket(int fd) => this.fd = fd;

    /// <summary>A socket in this thread's (the host's) network namespace.</summary>
    public static NetlinkSocket Open()
    {
        var s = Open(Rt.NETLINK_ROUTE);
        int size = 1 << 20;
        setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &size, 4);
        return s;
    }

    /// <summary>A socket in the network namespace pinned at <paramref name="netnsPath"/>.</summary>
    public static NetlinkSocket OpenIn(string netnsPath) => InNamespace(netnsPath, Open);

    /// <summary>
    /// Runs <paramref name="work"/> on a dedicated thread that has joined the network namespace at
    /// <paramref name="netnsPath"/>; the thread returns to its own namespace (or dies) afterwards, so no pool thread
    /// is ever left in a container's namespace.
    /// </summary>
    public static T InNamespace<T>(string netnsPath, Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            int original = -1, target = -1;
            try
            {
                fixed (byte* p = Sys.Z("/proc/thread-self/ns/net")) original = open(p, Sys.O_RDONLY | Sys.O_CLOEXEC, 0);
                if (original < 0) throw new NativeException("open", "/proc/thread-self/ns/net", Errors.Last);
                fixed (byte* p = Sys.Z(netnsPath)) target = open(p, Sys.O_RDONLY | Sys.O_CLOEXEC, 0);
                if (target < 0) throw new NativeException("open", netnsPath, Errors.Last);
                if (setns(target, CLONE_NEWNET) != 0) throw new NativeException("setns", netnsPath, Errors.Last);
                try
                {
                    result = work();
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
                if (target >= 0) close(target);
            }
        }, 256 * 1024) { IsBackground = true, Name = "psc-netns" };
        thread.Start();
        thread.Join();
        if (failure is not null) throw failure;
        return result;
    }

    public void Dispose()
    {
        if (fd >= 0) close(fd);
        fd = -1;
    }

    private void Send(byte[] message)
    {
        fixed (byte* p = message)
        {
            while (true)
            {
                nint n = send(fd, p, (nuint)message.Length, 0);
                if (n >= 0) return;
                int e = Errors.Last;
                if (e != Errors.EINTR) throw new NativeException("send(netlink)", null, e);
            }
        }
    }

    private readonly byte[] receiveBuffer = new byte[64 * 1024];

    private List<NetlinkMessage> Receive()
    {
        fixed (byte* p = receiveBuffer)
        {
            while (true)
            {
                nint n = recv(fd, p, (nuint)receiveBuffer.Length, 0);
                if (n >= 0) return NetlinkMessage.Split(receiveBuffer.AsSpan(0, (int)n));
                int e = Errors.Last;
                if (e != Errors.EINTR) throw new NativeException("recv(netlink)", null, e);
            }
        }
    }

    /// <summary>Sends a request with NLM_F_ACK and waits for its acknowledgement; a refusal throws with the errno.</summary>
    public void Request(NetlinkMessageBuilder message, string what)
    {
        uint seq = ++sequence;
        Send(message.ToArray(seq));
        while (true)
        {
            foreach (var m in Receive())
            {
                if (m.Sequence != seq) continue;
                if (m.Type == Rt.NLMSG_ERROR)
                {
                    if (m.Errno != 0) throw new NetlinkException(what, m.Errno);
                    return;
                }
            }
        }
    }

    /// <summary>Sends a get request (no dump) and returns its one reply; a refusal throws with the errno.</summary>
    public NetlinkMessage Get(NetlinkMessageBuilder message, string what)
    {
        uint seq = ++sequence;
        Send(message.ToArray(seq));
        while (true)
        {
            foreach (var m in Receive())
            {
                if (m.Sequence != seq) continue;
                if (m.Type == Rt.NLMSG_ERROR) throw new NetlinkException(what, m.Errno == 0 ? Errors.EIO : m.Errno);
                return m;
            }
        }
    }

    /// <summary>Sends a dump request (NLM_F_DUMP) and collects every reply until NLMSG_DONE.</summary>
    public List<NetlinkMessage> Dump(NetlinkMessageBuilder message, string what)
    {
        uint seq = ++sequence;
        Send(message.ToArray(seq));
        var result = new List<NetlinkMessage>();
        while (true)
        {
            foreach (var m in Receive())
            {
                if (m.Sequence != seq) continue;
                switch (m.Type)
                {
                    case Rt.NLMSG_DONE:
                        return result;
                    case Rt.NLMSG_ERROR:
                        if (m.Errno != 0) throw new NetlinkException(what, m.Errno);
                        return result;
                    case Rt.NLMSG_NOOP:
                        continue;
                    default:
                        result.Add(m);
                        break;
                }
            }
        }
    }
}
