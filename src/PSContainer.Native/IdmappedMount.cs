using System.Runtime.InteropServices;
using static Tmds.Linux.LibC;

namespace PSContainer.Native;

/// <summary>One line of a user namespace id map: ids [Inside, Inside+Count) are [Outside, Outside+Count) outside.</summary>
public readonly record struct IdMapping(long Inside, long Outside, long Count)
{
    public override string ToString() => $"{Inside}:{Outside}:{Count}";
}

/// <summary>
/// Idmapped mounts (Linux 5.12+; overlayfs lower layers 5.19+): a detached clone of a directory tree
/// (open_tree(OPEN_TREE_CLONE)) is given a user namespace's id maps with mount_setattr(MOUNT_ATTR_IDMAP) and attached
/// with move_mount. Files owned by host uid U then show as owned by the id U maps to, without touching the files, so
/// the image's shared layer directories serve every user namespace as they are.
/// The user namespace is a reaped child's (see <see cref="CreateUserNamespace"/>).
/// </summary>
public static unsafe partial class IdmappedMount
{
    // Syscall numbers of the new mount API are the same on every architecture but alpha (the unified table).
    private const long SYS_open_tree = 428, SYS_move_mount = 429, SYS_mount_setattr = 442;
    private const uint OPEN_TREE_CLONE = 1, MOVE_MOUNT_F_EMPTY_PATH = 0x4;
    private const ulong MOUNT_ATTR_IDMAP = 0x00100000;

    [StructLayout(LayoutKind.Sequential)]
    private struct MountAttr
    {
        public ulong AttrSet, AttrClr, Propagation, UsernsFd;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall5(long number, long a1, long a2, long a3, long a4, long a5);

    // clone(2) flags: the child shares our memory and descriptor table (nothing is copied, nothing closed at its
    // exit) and we sleep until it has exited, so it is a zombie whose credentials, and with them its user namespace,
    // stay readable until we reap it. No exit signal: .NET's SIGCHLD handling never hears of it.
    private const int CLONE_VM = 0x100, CLONE_FILES = 0x400, CLONE_VFORK = 0x4000, CLONE_NEWUSER = 0x10000000;
    private const int __WALL = 0x40000000;
    private const int SIG_BLOCK = 0, SIG_SETMASK = 2;
    private const int ChildStackSize = 64 * 1024;

    [LibraryImport("libc", EntryPoint = "clone", SetLastError = true)]
    private static partial int Clone(IntPtr fn, void* stack, int flags, IntPtr arg);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pthread_sigmask(int how, byte* set, byte* old);

    [LibraryImport("libc")]
    private static partial int sigfillset(byte* set);

    /// <summary>libc's _exit: the whole of the child's life, a plain exit_group(2) that touches no memory of ours.</summary>
    private static readonly Lazy<IntPtr> ExitFunction =
        new(() => NativeLibrary.GetExport(NativeLibrary.Load("libc", typeof(IdmappedMount).Assembly, null), "_exit"));

    /// <summary>
    /// Makes a user namespace with these maps and returns a descriptor of it (close it when done). The namespace
    /// lives as long as a descriptor or a mount refers to it.
    /// A multi-threaded process (.NET) cannot unshare(CLONE_NEWUSER), but it can clone a child into a new one: the
    /// child is libc's _exit run on a small stack of its own (CLONE_VM and CLONE_FILES, so no copy of this process is
    /// made; all signals blocked, so no handler of ours runs in it), and CLONE_VFORK returns here once it has exited. Its user
    /// namespace outlives it until it is reaped: we write its maps (root here has CAP_SETUID over it), open
    /// /proc/PID/ns/user and reap it. No process or file is left behind, whatever happens in between: a killed
    /// engine's zombie child is reparented to init, which reaps it. (A spawned helper costs several ms of exec; this
    /// costs one clone.)
    /// </summary>
    public static int CreateUserNamespace(IReadOnlyList<IdMapping> uidMap, IReadOnlyList<IdMapping> gidMap)
    {
        byte* stack = (byte*)NativeMemory.AlignedAlloc(ChildStackSize, 16);
        byte* all = stackalloc byte[128], old = stackalloc byte[128];
        int pid, err;
        try
        {
            sigfillset(all);
            int rc = pthread_sigmask(SIG_BLOCK, all, old);
            if (rc != 0) throw new NativeException("pthread_sigmask", null, rc);
            // The stack grows down: the child starts at its top.
            pid = Clone(ExitFunction.Value, stack + ChildStackSize, CLONE_VM | CLONE_FILES | CLONE_VFORK | CLONE_NEWUSER, IntPtr.Zero);
            err = Errors.Last;
            pthread_sigmask(SIG_SETMASK, old, null);
        }
        finally
        {
            // CLONE_VFORK: the child has exited by now, its stack is free.
            NativeMemory.AlignedFree(stack);
        }
        if (pid < 0) throw new NativeException("clone(CLONE_NEWUSER)", null, err);
        try
        {
            WriteMap($"/proc/{pid}/uid_map", uidMap);
            WriteMap($"/proc/{pid}/gid_map", gidMap);
            byte[] path = Sys.Z($"/proc/{pid}/ns/user");
            int nsfd;
            fixed (byte* p = path) nsfd = open(p, Sys.O_RDONLY | Sys.O_CLOEXEC);
            if (nsfd < 0) throw new NativeException("open user namespace", $"/proc/{pid}/ns/user", Errors.Last);
            return nsfd;
        }
        finally
        {
            Reap(pid);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, int* status, int options);

    /// <summary>Reaps the child (no exit signal was asked for, so it is a "clone" child: __WALL).</summary>
    private static void Reap(int pid)
    {
        int status;
        while (waitpid(pid, &status, __WALL) < 0)
            if (Errors.Last != Errors.EINTR) throw new NativeException("waitpid", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), Errors.Last);
    }

    /// <summary>An id map file takes all its lines in one write(2).</summary>
    private static void WriteMap(string file, IReadOnlyList<IdMapping> map)
    {
        byte[] text = System.Text.Encoding.ASCII.GetBytes(string.Concat(map.Select(m => $"{m.Inside} {m.Outside} {m.Count}\n")));
        byte[] path = Sys.Z(file);
        int fd;
        fixed (byte* p = path) fd = open(p, Sys.O_WRONLY | Sys.O_CLOEXEC);
        if (fd < 0) throw new NativeException("open", file, Errors.Last);
        try
        {
            long n;
            fixed (byte* t = text) n = write(fd, t, (Tmds.Linux.size_t)text.Length);
            if (n != text.Length) throw new NativeException("write id map", file, n < 0 ? Errors.Last : Errors.EIO);
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>
    /// A detached mount of <paramref name="source"/> (a directory) seen through the id maps of the user namespace
    /// <paramref name="usernsFd"/>: a descriptor (close it when done) that is attached nowhere, so nothing is left
    /// on the host whatever happens to this process. Throws NativeException; errno EINVAL, EPERM, ENOSYS or
    /// EOPNOTSUPP from mount_setattr means the kernel or the file system cannot idmap it (see <see cref="IsUnsupported"/>).
    /// </summary>
    public static int CloneIdmapped(string source, int usernsFd)
    {
        byte[] s = Sys.Z(source), empty = Sys.Z("");
        int tree;
        fixed (byte* ps = s) tree = (int)Syscall5(SYS_open_tree, Sys.AT_FDCWD, (long)ps, OPEN_TREE_CLONE | Sys.O_CLOEXEC, 0, 0);
        if (tree < 0) throw new NativeException("open_tree", source, Errors.Last);
        var attr = new MountAttr { AttrSet = MOUNT_ATTR_IDMAP, UsernsFd = (ulong)usernsFd };
        long rc;
        fixed (byte* pe = empty) rc = Syscall5(SYS_mount_setattr, tree, (long)pe, Sys.AT_EMPTY_PATH, (long)&attr, sizeof(MountAttr));
        if (rc < 0)
        {
            int err = Errors.Last;
            close(tree);
            throw new NativeException("mount_setattr(MOUNT_ATTR_IDMAP)", source, err);
        }
        return tree;
    }

    /// <summary>The path by which a detached mount is reached (what overlayfs takes as a layer, where the kernel allows it).</summary>
    public static string PathOf(int tree) => "/proc/self/fd/" + tree.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Attaches a detached mount (from <see cref="CloneIdmapped"/>) on <paramref name="target"/>.</summary>
    public static void Attach(int tree, string target)
    {
        byte[] t = Sys.Z(target), empty = Sys.Z("");
        long rc;
        fixed (byte* pe = empty) fixed (byte* pt = t)
            rc = Syscall5(SYS_move_mount, tree, (long)pe, Sys.AT_FDCWD, (long)pt, MOVE_MOUNT_F_EMPTY_PATH);
        if (rc < 0) throw new NativeException("move_mount", target, Errors.Last);
    }

    /// <summary>Whether a failure of <see cref="CloneIdmapped"/> says the kernel or file system lacks idmapped mounts.</summary>
    public static bool IsUnsupported(NativeException e) =>
        e.Errno is Errors.EINVAL or Errors.EPERM or Errors.EOPNOTSUPP or 38 /* ENOSYS */;

    public static void Close(int fd)
    {
        if (fd >= 0) close(fd);
    }
}
