using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PSContainer.Native;

public static unsafe partial class ProcessSpawner
{
    /// <summary>
    /// As <see cref="Start"/>, with the child's stdin a pipe whose write end is returned (null when
    /// <paramref name="withInput"/> is false: stdin is then /dev/null). Closing the write end is the child's end of input.
    /// </summary>
    public static (int Pid, SafeFileHandle? Stdin, SafeFileHandle Stdout, SafeFileHandle Stderr) Start(
        string path, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, bool withInput)
    {
        if (!withInput)
        {
            var (p, o, e) = Start(path, args, environment);
            return (p, null, o, e);
        }
        var (inRead, inWrite) = Pipe();
        var (outRead, outWrite) = Pipe();
        var (errRead, errWrite) = Pipe();
        try
        {
            int pid = Spawn(path, args, environment, new Dictionary<int, int> { [inRead] = 0, [outWrite] = 1, [errWrite] = 2 });
            return (pid, new SafeFileHandle(inWrite, true), new SafeFileHandle(outRead, true), new SafeFileHandle(errRead, true));
        }
        catch
        {
            Close(inWrite);
            Close(outRead);
            Close(errRead);
            throw;
        }
        finally
        {
            Close(inRead);
            Close(outWrite);
            Close(errWrite);
        }
    }
}

public static unsafe partial class ProcessSpawner
{
    [LibraryImport("libc", SetLastError = true, EntryPoint = "waitpid")]
    private static partial int waitpid_nohang(int pid, int* status, int options);

    /// <summary>Reaps a spawned child if it has exited (WNOHANG); its exit code (128+N for signal N) or null while it runs.</summary>
    public static int? TryWaitExitCode(int pid)
    {
        int status;
        int rc;
        while ((rc = waitpid_nohang(pid, &status, 1 /* WNOHANG */)) < 0 && Errors.Last == Errors.EINTR) { }
        if (rc < 0) throw new NativeException("waitpid", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), Errors.Last);
        if (rc == 0) return null;
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
    }
}
