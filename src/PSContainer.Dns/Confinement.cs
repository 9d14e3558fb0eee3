using System.Runtime.InteropServices;

namespace PSContainer.Dns;

/// <summary>
/// Takes psc-dns's root away once its listening socket is bound: it answers the containers of a network, so a flaw
/// in it must not hand them the host. The engine starts it as root (port 53 needs CAP_NET_BIND_SERVICE, and the
/// binary may sit where only root can read); nothing it does afterwards needs a privilege: replies go out of the bound
/// socket, forwarded queries use fresh sockets on ephemeral ports, the records file is world-readable and reached
/// through a directory descriptor opened before.
/// </summary>
internal static class Confinement
{
    /// <summary>nobody/nogroup: the overflow ids, which own nothing on the host.</summary>
    public const uint Nobody = 65534;

    private const int PR_SET_NO_NEW_PRIVS = 38;
    private const uint SCMP_ACT_ALLOW = 0x7fff0000;
    private const uint SCMP_ACT_ERRNO_EPERM = 0x00050000 | 1;
    private const int SCMP_FLTATR_CTL_TSYNC = 4;

    /// <summary>
    /// Drops to nobody:nogroup with no supplementary group and no capability, and forbids execve for good. glibc's
    /// setgroups/setgid/setuid change every thread of the process (the runtime has several), and leaving uid 0 in all
    /// three uids clears the permitted, effective and ambient capabilities of each. PR_SET_NO_NEW_PRIVS, though, is a
    /// per-thread flag: a seccomp filter loaded with TSYNC copies it to every thread, so the filter also denies
    /// execve/execveat (psc-dns never runs another program). Throws when any step fails: a psc-dns that could not
    /// drop root does not serve.
    /// </summary>
    public static void DropPrivileges()
    {
        Check(setgroups(0, IntPtr.Zero), "setgroups");
        Check(setgid(Nobody), "setgid");
        Check(setuid(Nobody), "setuid");
        if (setuid(0) == 0 || getuid() != Nobody || geteuid() != Nobody || getegid() != Nobody)
            throw new InvalidOperationException("the process still holds root after setuid");
        Check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)");
        ForbidExec();
    }

    private static void ForbidExec()
    {
        IntPtr ctx;
        try
        {
            ctx = seccomp_init(SCMP_ACT_ALLOW);
        }
        catch (DllNotFoundException)
        {
            throw new InvalidOperationException("libseccomp.so.2 was not found (apt-get install libseccomp2)");
        }
        if (ctx == IntPtr.Zero) throw new InvalidOperationException("seccomp_init failed");
        try
        {
            foreach (string name in new[] { "execve", "execveat" })
            {
                int nr = seccomp_syscall_resolve_name(name);
                if (nr < 0) throw new InvalidOperationException($"libseccomp does not know {name}");
                SeccompCheck(seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO_EPERM, nr, 0, IntPtr.Zero), $"seccomp_rule_add({name})");
            }
            SeccompCheck(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1), "seccomp_attr_set(TSYNC)");
            SeccompCheck(seccomp_load(ctx), "seccomp_load");
        }
        finally
        {
            seccomp_release(ctx);
        }
    }

    /// <summary>
    /// Loads every assembly psc-dns can reach (its references, transitively) while it may still read them: the
    /// runtime loads them on first use, and psc-dns or the runtime may sit in a directory only root can enter
    /// (a module installed under /root).
    /// </summary>
    public static void LoadAssemblies()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<System.Reflection.Assembly>([typeof(Confinement).Assembly]);
        while (pending.Count > 0)
        {
            foreach (var name in pending.Pop().GetReferencedAssemblies())
            {
                if (!seen.Add(name.FullName)) continue;
                try
                {
                    pending.Push(System.Reflection.Assembly.Load(name));
                }
                catch (FileNotFoundException)
                {
                    // a reference the framework does not carry (never used at run time)
                }
            }
        }
    }

    /// <summary>A descriptor (O_PATH) of <paramref name="directory"/>, so files in it stay reachable when its parents are not.</summary>
    public static int OpenDirectory(string directory)
    {
        const int O_PATH = 0x200000, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;
        int fd = open(directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) throw new IOException($"cannot open {directory}: {Marshal.GetLastPInvokeErrorMessage()}");
        return fd;
    }

    private static void Check(int result, string what)
    {
        if (result != 0) throw new InvalidOperationException($"{what} failed: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    private static void SeccompCheck(int result, string what)
    {
        if (result != 0) throw new InvalidOperationException($"{what} failed: {new System.ComponentModel.Win32Exception(-result).Message}");
    }

    [DllImport("libc", SetLastError = true)] private static extern int setgroups(nuint size, IntPtr list);
    [DllImport("libc", SetLastError = true)] private static extern int setgid(uint gid);
    [DllImport("libc", SetLastError = true)] private static extern int setuid(uint uid);
    [DllImport("libc")] private static extern uint getuid();
    [DllImport("libc")] private static extern uint geteuid();
    [DllImport("libc")] private static extern uint getegid();
    [DllImport("libc", SetLastError = true)] private static extern int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);
    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi)] private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
    [DllImport("libseccomp.so.2")] private static extern IntPtr seccomp_init(uint defaultAction);
    [DllImport("libseccomp.so.2")] private static extern int seccomp_syscall_resolve_name([MarshalAs(UnmanagedType.LPUTF8Str)] string name);
    [DllImport("libseccomp.so.2")] private static extern int seccomp_rule_add_array(IntPtr ctx, uint action, int syscall, uint argCount, IntPtr args);
    [DllImport("libseccomp.so.2")] private static extern int seccomp_attr_set(IntPtr ctx, int attribute, uint value);
    [DllImport("libseccomp.so.2")] private static extern int seccomp_load(IntPtr ctx);
    [DllImport("libseccomp.so.2")] private static extern void seccomp_release(IntPtr ctx);
}
