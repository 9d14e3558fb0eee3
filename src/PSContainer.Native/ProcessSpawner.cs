using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;

namespace PSContainer.Native;

/// <summary>
/// posix_spawn with chosen file descriptors in the child, which System.Diagnostics.Process cannot do: the monitor
/// gets its sync pipe as a numbered fd. The child starts with default signal dispositions and an empty mask
/// (.NET ignores SIGPIPE, and that must not leak into containers).
/// </summary>
public static unsafe partial class ProcessSpawner
{
    private const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_spawn_file_actions_init(byte* actions);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_spawn_file_actions_adddup2(byte* actions, int fd, int newfd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_spawn_file_actions_addopen(byte* actions, int fd, byte* path, int flags, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_spawn_file_actions_destroy(byte* actions);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_spawnattr_init(byte* attr);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_spawnattr_destroy(byte* attr);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_spawnattr_setflags(byte* attr, short flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_spawnattr_setsigdefault(byte* attr, byte* sigset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_spawnattr_setsigmask(byte* attr, byte* sigset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sigemptyset(byte* set);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sigfillset(byte* set);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_spawn(int* pid, byte* path, byte* actions, byte* attr, byte** argv, byte** envp);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    /// <summary>A pipe whose both ends are close-on-exec (an fd mapping clears the flag on the child's copy).</summary>
    public static (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, Sys.O_CLOEXEC) != 0) throw new NativeException("pipe2", null, Errors.Last);
        return (fds[0], fds[1]);
    }

    public static void Close(int fd)
    {
        if (fd >= 0) close(fd);
    }

    /// <summary>Spawns <paramref name="path"/>; stdin/stdout/stderr are /dev/null unless mapped; <paramref name="fds"/> maps parent fd → child fd.</summary>
    public static int Spawn(string path, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, IReadOnlyDictionary<int, int> fds)
    {
        byte* actions = stackalloc byte[512];
        byte* attr = stackalloc byte[1024];
        byte* sigset = stackalloc byte[128];
        var pinned = new List<GCHandle>();
        try
        {
            Check(posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            Check(posix_spawnattr_init(attr), "posix_spawnattr_init");
            byte[] devNull = Sys.Z("/dev/null");
            fixed (byte* pn = devNull)
            {
                for (int std = 0; std <= 2; std++)
                    if (!fds.Values.Contains(std))
                        Check(posix_spawn_file_actions_addopen(actions, std, pn, std == 0 ? Sys.O_RDONLY : Sys.O_WRONLY, 0), "posix_spawn_file_actions_addopen");
            }
            foreach (var (parentFd, childFd) in fds)
                Check(posix_spawn_file_actions_adddup2(actions, parentFd, childFd), "posix_spawn_file_actions_adddup2");
            sigfillset(sigset);
            Check(posix_spawnattr_setsigdefault(attr, sigset), "posix_spawnattr_setsigdefault");
            sigemptyset(sigset);
            Check(posix_spawnattr_setsigmask(attr, sigset), "posix_spawnattr_setsigmask");
            Check(posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK), "posix_spawnattr_setflags");

            byte** argv = stackalloc byte*[args.Count + 1];
            for (int i = 0; i < args.Count; i++) argv[i] = Pin(Sys.Z(args[i]), pinned);
            argv[args.Count] = null;
            var envList = environment.Select(kv => kv.Key + "=" + kv.Value).ToList();
            byte** envp = stackalloc byte*[envList.Count + 1];
            for (int i = 0; i < envList.Count; i++) envp[i] = Pin(Sys.Z(envList[i]), pinned);
            envp[envList.Count] = null;

            int pid;
            byte[] p = Sys.Z(path);
            int rc;
            fixed (byte* pp = p) rc = posix_spawn(&pid, pp, actions, attr, argv, envp);
            if (rc != 0) throw new NativeException("posix_spawn", path, rc);
            return pid;
        }
        finally
        {
            posix_spawn_file_actions_destroy(actions);
            posix_spawnattr_destroy(attr);
            foreach (var h in pinned) h.Free();
        }
    }

    private static byte* Pin(byte[] bytes, List<GCHandle> pinned)
    {
        var h = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        pinned.Add(h);
        return (byte*)h.AddrOfPinnedObject();
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw new NativeException(what, null, rc);
    }

    /// <summary>
    /// Runs a program to completion with its stdout and stderr captured (and stdin /dev/null). Cheaper than
    /// System.Diagnostics.Process, which matters for the runtime commands every container start and stop makes.
    /// Returns (exit code, or 128+signal; stdout; stderr).
    /// </summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(string path, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var (outRead, outWrite) = Pipe();
        var (errRead, errWrite) = Pipe();
        int pid;
        try
        {
            pid = Spawn(path, args, environment, new Dictionary<int, int> { [outWrite] = 1, [errWrite] = 2 });
        }
        catch
        {
            Close(outRead);
            Close(errRead);
            throw;
        }
        finally
        {
            Close(outWrite);
            Close(errWrite);
        }
        using var stdout = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(outRead, true), FileAccess.Read, 1);
        using var stderr = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(errRead, true), FileAccess.Read, 1);
        var outText = Task.Run(() => new StreamReader(stdout).ReadToEnd());
        var errText = Task.Run(() => new StreamReader(stderr).ReadToEnd());
        // The pipes close when the program (and anything it left holding them) is done.
        if (!Task.WaitAll([outText, errText], timeout))
        {
            Tmds.Linux.LibC.kill(pid, 9);
            Wait(pid);
            throw new NativeException($"{Path.GetFileName(path)} {string.Join(' ', args.Skip(1))} timed out", null, 110 /* ETIMEDOUT */);
        }
        int status = Wait(pid);
        int code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
        return (code, outText.Result, errText.Result);
    }

    /// <summary>
    /// Starts a program with its stdout and stderr as pipes this process reads (stdin /dev/null). The caller
    /// reads both descriptors to their end, then calls <see cref="WaitExitCode"/>.
    /// </summary>
    public static (int Pid, SafeFileHandle Stdout, SafeFileHandle Stderr) Start(string path, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment)
    {
        var (outRead, outWrite) = Pipe();
        var (errRead, errWrite) = Pipe();
        try
        {
            int pid = Spawn(path, args, environment, new Dictionary<int, int> { [outWrite] = 1, [errWrite] = 2 });
            return (pid, new SafeFileHandle(outRead, true), new SafeFileHandle(errRead, true));
        }
        catch
        {
            Close(outRead);
            Close(errRead);
            throw;
        }
        finally
        {
            Close(outWrite);
            Close(errWrite);
        }
    }

    /// <summary>Waits for a spawned child and returns its exit code (128+N when killed by signal N).</summary>
    public static int WaitExitCode(int pid)
    {
        int status = Wait(pid);
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
    }

    /// <summary>Waits for a child this process spawned; returns its wait status.</summary>
    public static int Wait(int pid)
    {
        int status;
        while (waitpid(pid, &status, 0) < 0)
        {
            int err = Errors.Last;
            if (err != Errors.EINTR) throw new NativeException("waitpid", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), err);
        }
        return status;
    }
}
