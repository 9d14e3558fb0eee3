using Microsoft.Win32.SafeHandles;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// An exec whose stdio the caller streams itself as bytes (the Docker API's attached exec): stdout and stderr as
/// the process writes them, partial lines and binary data included, and, when asked for, its stdin. Unlike
/// <see cref="ExecProcess"/> nothing here reads on its own: a caller that stops reading stalls the process, as a
/// docker client that stops reading does.
/// </summary>
public sealed class StreamingExec : IDisposable
{
    private readonly int runtimePid;
    private readonly string processFile;
    private int? exitCode;
    private Stream? stdin;

    internal StreamingExec(int runtimePid, SafeFileHandle? stdin, SafeFileHandle stdout, SafeFileHandle stderr, string processFile)
    {
        this.runtimePid = runtimePid;
        this.processFile = processFile;
        this.stdin = stdin is null ? null : new FileStream(stdin, FileAccess.Write, 1);
        Stdout = new FileStream(stdout, FileAccess.Read, 1);
        Stderr = new FileStream(stderr, FileAccess.Read, 1);
    }

    /// <summary>The process's stdin (null when started without input); dispose it, or call <see cref="CloseInput"/>, for its end of input.</summary>
    public Stream? Stdin => Volatile.Read(ref stdin);

    public Stream Stdout { get; }

    public Stream Stderr { get; }

    /// <summary>The process's host pid: the runtime's child in the container when there is one yet, else the runtime's.</summary>
    public int Pid => ExecPid.Of(runtimePid);

    /// <summary>Ends the process's input (EOF on its stdin).</summary>
    public void CloseInput()
    {
        var s = Interlocked.Exchange(ref stdin, null);
        try
        {
            s?.Dispose();
        }
        catch (IOException)
        {
            // the process closed its stdin already: nothing left to deliver
        }
    }

    /// <summary>Waits for the process and returns its exit code (the runtime exits with it).</summary>
    public int Wait()
    {
        if (exitCode is int known) return known;
        int code = ProcessSpawner.WaitExitCode(runtimePid);
        File.Delete(processFile);
        exitCode = code;
        return code;
    }

    /// <summary>Ends the exec (the runtime forwards SIGTERM to the process).</summary>
    public void Kill()
    {
        if (exitCode is null) ProcessSignal.TrySend(runtimePid, ProcessSignal.SIGTERM);
    }

    public void Dispose()
    {
        CloseInput();
        if (exitCode is null)
        {
            Kill();
            // A process that ignores SIGTERM must not hold this thread (and a server's shutdown) forever: after a
            // grace period the exec's own process (the runtime's child, which SIGKILL cannot be forwarded to) is killed.
            using var escalate = new Timer(_ => ProcessSignal.TrySend(ExecPid.Of(runtimePid), ProcessSignal.SIGKILL), null, TimeSpan.FromSeconds(10), Timeout.InfiniteTimeSpan);
            Wait();
        }
        Stdout.Dispose();
        Stderr.Dispose();
    }
}

/// <summary>The host pid docker reports for an exec: the process the runtime started in the container.</summary>
internal static class ExecPid
{
    public static int Of(int runtimePid)
    {
        try
        {
            string children = File.ReadAllText($"/proc/{runtimePid}/task/{runtimePid}/children").Trim();
            return children.Length > 0 && int.TryParse(children.Split(' ')[0], out int child) ? child : runtimePid;
        }
        catch (IOException)
        {
            return runtimePid; // ended meanwhile
        }
    }
}
