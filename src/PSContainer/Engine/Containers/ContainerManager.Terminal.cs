using PSContainer.Native;

namespace PSContainer.Engine.Containers;

// docker exec -it: the exec process gets a pty the runtime makes inside the container and hands us over runc's
// console socket.
public sealed partial class ContainerManager
{
    /// <summary>
    /// Starts an exec with a terminal of <paramref name="rows"/> x <paramref name="columns"/> and returns its pty
    /// master once the runtime has sent it. The console socket lives in a private temporary directory (mode 0700,
    /// as containerd's shim makes it): a container's run dir can be longer than a unix socket path may be.
    /// </summary>
    public TerminalExec StartTerminalExec(string idOrName, ExecOptions options, int rows, int columns)
    {
        var running = RunningRecord(idOrName);
        if (RuntimeFor(running.Options.Runtime).Name != "psc")
            // runc takes a console socket for an exec only with --detach, and a detached exec is re-parented away
            // from us: its exit code would need a subreaper (conmon's job), which a PowerShell session cannot be.
            throw new EngineException("TerminalExecNotSupported", ErrorKind.InvalidOperation, running.Name,
                $"A terminal session in {running.Name} needs the psc runtime ({running.Options.Runtime} hands over an exec's terminal only when detached). Use Invoke-ContainerCommand, or create the container with -Interactive -Tty and attach.");
        var (runtime, record, processFile) = PrepareExec(running.Id, options, (rows, columns));
        DirectoryInfo? dir = null;
        int listener = -1;
        try
        {
            dir = Directory.CreateTempSubdirectory("psc-pty-");
            string socketPath = Path.Combine(dir.FullName, "pty.sock");
            listener = UnixSocket.Listen(socketPath);
            var argv = new List<string> { runtime.Binary, "--root", runtime.Root, "exec", "--console-socket", socketPath, "--process", processFile, record.Id };
            var (pid, stdout, stderr) = ProcessSpawner.Start(runtime.ExecPath, argv, ExecEnvironment);
            var errors = Task.Run(() =>
            {
                using var o = new StreamReader(new FileStream(stdout, FileAccess.Read, 1));
                using var e = new StreamReader(new FileStream(stderr, FileAccess.Read, 1));
                var rest = o.ReadToEndAsync();
                string text = e.ReadToEnd();
                rest.Wait();
                return text.Trim();
            });
            int? early = null;
            int master;
            try
            {
                master = UnixSocket.AcceptDescriptor(listener, TimeSpan.FromSeconds(30), () => (early = ProcessSpawner.TryWaitExitCode(pid)) is not null);
            }
            catch
            {
                if (early is null) StopRuntime(pid);
                throw;
            }
            if (master < 0)
            {
                if (early is null) StopRuntime(pid);
                string why = errors.Wait(TimeSpan.FromSeconds(5)) && errors.Result.Length > 0 ? errors.Result : $"{runtime.Name} exec did not hand over the terminal.";
                File.Delete(processFile);
                throw new EngineException("ExecFailed", ErrorKind.InvalidOperation, record.Name, $"Cannot start the session in {record.Name}: {why}");
            }
            return new TerminalExec(pid, master, processFile, errors, early);
        }
        catch (NativeException e)
        {
            File.Delete(processFile);
            throw new EngineException("ExecFailed", ErrorKind.InvalidOperation, record.Name, $"Cannot start the session in {record.Name}: {e.Message}", e);
        }
        finally
        {
            UnixSocket.Close(listener);
            try
            {
                dir?.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Only the socket's directory: nothing else was made in it.
            }
        }
    }

    private static void StopRuntime(int pid)
    {
        ProcessSignal.TrySend(pid, ProcessSignal.SIGKILL);
        ProcessSpawner.WaitExitCode(pid);
    }
}

/// <summary>An exec with a terminal: its pty master, its runtime process (whose exit code is the process's).</summary>
public sealed class TerminalExec : ITerminalConnection
{
    private readonly int runtimePid;
    private readonly string processFile;
    private readonly Task<string> runtimeErrors;
    private int master;
    private int? exitCode;

    internal TerminalExec(int runtimePid, int master, string processFile, Task<string> runtimeErrors, int? exitCode)
    {
        this.runtimePid = runtimePid;
        this.master = master;
        this.processFile = processFile;
        this.runtimeErrors = runtimeErrors;
        this.exitCode = exitCode;
    }

    public int OutputFd => master;

    /// <summary>The process's host pid (the runtime's child in the container).</summary>
    public int Pid => ExecPid.Of(runtimePid);

    public int ReadOutput(Span<byte> buffer)
    {
        int n = UnixSocket.Read(master, buffer);
        return n > 0 ? n : 0; // EIO: every holder of the pty's other side has closed it
    }

    public bool SendInput(ReadOnlySpan<byte> data) => UnixSocket.WriteAll(master, data);

    public void Resize(int rows, int columns) => Terminal.SetSize(master, rows, columns);

    public bool HasEnded => (exitCode ??= ProcessSpawner.TryWaitExitCode(runtimePid)) is not null;

    /// <summary>Waits for the process; its exit code (the runtime exits with it).</summary>
    public int Wait()
    {
        exitCode ??= ProcessSpawner.WaitExitCode(runtimePid);
        return exitCode.Value;
    }

    /// <summary>What the runtime itself reported (not the process's output, which went to the terminal).</summary>
    public string RuntimeErrors => runtimeErrors.Wait(TimeSpan.FromSeconds(5)) ? runtimeErrors.Result : "";

    public void Dispose()
    {
        UnixSocket.Close(master);
        master = -1;
        if (exitCode is null)
        {
            // The session was left (cancelled): the closed pty hangs the process up, and the runtime forwards SIGTERM
            // to it. A process that ignores both must not hang the session: after 5 s the runtime is killed (the
            // process stays in the container, as with runc).
            ProcessSignal.TrySend(runtimePid, ProcessSignal.SIGTERM);
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (!HasEnded && DateTime.UtcNow < deadline) Thread.Sleep(50);
            if (!HasEnded) ProcessSignal.TrySend(runtimePid, ProcessSignal.SIGKILL);
            Wait();
        }
        File.Delete(processFile);
    }
}
