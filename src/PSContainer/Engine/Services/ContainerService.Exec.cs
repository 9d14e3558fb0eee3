using System.Collections.Concurrent;
using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

/// <summary>What an exec is attached to (docker exec -i, -t; the exec create's AttachStd* and Tty).</summary>
public sealed class ExecStreams
{
    public bool Stdin { get; init; }
    public bool Stdout { get; init; } = true;
    public bool Stderr { get; init; } = true;
    public bool Tty { get; init; }
    /// <summary>
    /// With a terminal and stdin, the client's keys that detach it, leaving the process running (the exec create's
    /// DetachKeys, docker exec --detach-keys). dockerd's Ctrl+P Ctrl+Q unless given; empty: none.
    /// </summary>
    public byte[] DetachKeys { get; init; } = global::PSContainer.Engine.Containers.DetachKeys.Default;
}

/// <summary>An exec instance (docker exec create/start/inspect): made first, run once, its exit kept for inspection.</summary>
public sealed class ExecInstance
{
    private readonly object gate = new();
    private (int Rows, int Columns)? size;
    private TerminalExec? terminal;

    public string Id { get; init; } = "";
    public string ContainerId { get; init; } = "";
    public ExecOptions Options { get; init; } = new();
    public ExecStreams Streams { get; init; } = new();
    public bool Running { get; internal set; }
    public bool Started { get; internal set; }
    public int? ExitCode { get; internal set; }
    private Func<int>? pidSource;
    private int pid;

    /// <summary>The process's host pid once started (0 before); looked up while it runs, as the runtime forks it.</summary>
    public int Pid
    {
        get
        {
            if (Running && pidSource is { } source) pid = source();
            return pid;
        }
    }

    internal void SetPidSource(Func<int> source)
    {
        pidSource = source;
        pid = source();
    }

    /// <summary>The terminal's size: applied now to a running terminal, else kept for its start.</summary>
    internal void Resize(int rows, int columns)
    {
        lock (gate)
        {
            size = (rows, columns);
            terminal?.Resize(rows, columns);
        }
    }

    internal (int Rows, int Columns) InitialSize
    {
        get { lock (gate) return size ?? (24, 80); }
    }

    internal void SetTerminal(TerminalExec? value)
    {
        lock (gate)
        {
            terminal = value;
            if (value is not null && size is { } s) value.Resize(s.Rows, s.Columns); // a resize that came during the start
        }
    }
}

public sealed partial class ContainerService
{
    private readonly ConcurrentDictionary<string, ExecInstance> execs = new(StringComparer.Ordinal);

    /// <summary>docker exec's first step: checks the container runs and records what to run.</summary>
    public ExecInstance CreateExec(string idOrName, ExecOptions options, ExecStreams? streams = null)
    {
        var c = Get(idOrName);
        if (c.State != ContainerState.Running)
            throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, c.Name, $"Container {c.Id} is not running");
        if (options.Command.Length == 0)
            throw new EngineException("NoCommand", ErrorKind.InvalidArgument, c.Name, "No exec command specified");
        var exec = new ExecInstance { Id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), ContainerId = c.Id, Options = options, Streams = streams ?? new() };
        execs[exec.Id] = exec;
        return exec;
    }

    public ExecInstance GetExec(string execId) =>
        execs.TryGetValue(execId, out var e) ? e : throw new EngineException("ExecNotFound", ErrorKind.ObjectNotFound, execId, $"No such exec instance: {execId}");

    /// <summary>docker exec resize: the exec's terminal gets the size (kept for its start when it has not started yet).</summary>
    public void ResizeExec(string execId, int rows, int columns)
    {
        var exec = GetExec(execId);
        if (!exec.Streams.Tty)
            throw new EngineException("NoTerminal", ErrorKind.InvalidOperation, execId, $"Exec {execId} has no terminal to resize");
        CheckSize(rows, columns, execId);
        exec.Resize(rows, columns);
    }

    private static void CheckSize(int rows, int columns, string target)
    {
        if (rows is <= 0 or > ushort.MaxValue || columns is <= 0 or > ushort.MaxValue)
            throw new EngineException("InvalidSize", ErrorKind.InvalidArgument, target, $"Invalid terminal size {rows}x{columns}: both must be between 1 and 65535");
    }

    /// <summary>
    /// Starts the exec (once): the process runs before this returns, so a front end can report a failed start as an
    /// error before it hands its client the stream. <see cref="ExecRun.CopyAsync"/> then carries the streams.
    /// </summary>
    public ExecRun StartExec(string execId)
    {
        var exec = GetExec(execId);
        lock (exec)
        {
            if (exec.Started)
                throw new EngineException("ExecAlreadyStarted", ErrorKind.InvalidOperation, execId, $"Exec {execId} has already been started");
            exec.Started = exec.Running = true;
        }
        try
        {
            if (exec.Streams.Tty)
            {
                var (rows, columns) = exec.InitialSize;
                var terminal = Manager.StartTerminalExec(exec.ContainerId, exec.Options, rows, columns);
                exec.SetTerminal(terminal);
                exec.SetPidSource(() => terminal.Pid);
                return new ExecRun(this, exec, terminal, null);
            }
            var process = Manager.StartStreamingExec(exec.ContainerId, exec.Options, withInput: exec.Streams.Stdin);
            exec.SetPidSource(() => process.Pid);
            return new ExecRun(this, exec, null, process);
        }
        catch
        {
            Finish(exec, null);
            throw;
        }
    }

    private void Finish(ExecInstance exec, int? code)
    {
        exec.SetTerminal(null);
        exec.ExitCode = code ?? exec.ExitCode ?? -1;
        exec.Running = false;
        // Kept for inspection for a while, as dockerd keeps an exec until its container goes.
        foreach (var old in execs.Values.Where(e => !e.Running && e.Started && e.ContainerId == exec.ContainerId).SkipLast(16).ToList())
            execs.TryRemove(old.Id, out _);
    }

    /// <summary>A started exec: its streams to carry, then its exit.</summary>
    public sealed partial class ExecRun : IDisposable
    {
        private readonly ContainerService service;
        private readonly TerminalExec? terminal;
        private readonly StreamingExec? process;
        private int finished;

        internal ExecRun(ContainerService service, ExecInstance exec, TerminalExec? terminal, StreamingExec? process)
        {
            this.service = service;
            Exec = exec;
            this.terminal = terminal;
            this.process = process;
        }

        public ExecInstance Exec { get; }

        /// <summary>
        /// Carries the streams until the process ends and returns its exit code (recorded on the exec first).
        /// <paramref name="input"/> is the client's bytes for the process's stdin (ignored unless the exec attached
        /// stdin); its end closes the process's stdin. Output the exec did not attach is read and dropped. Cancelling
        /// ends the process. The exec's detach keys on a terminal return -1 at once, the process going on (ExecDetach).
        /// </summary>
        public async Task<int> CopyAsync(Stream? input, OutputWriter output, CancellationToken cancel)
        {
            int? code = null;
            try
            {
                if (terminal is not null)
                {
                    var end = await TerminalStreams.RelayAsync(terminal, Exec.Streams.Stdin ? input : null, Output, Exec.Streams.DetachKeys, cancel).ConfigureAwait(false);
                    if (end == RelayEnd.Detached)
                    {
                        KeepRunningDetached(terminal);
                        return -1; // no exit yet: the exec stays Running until its process ends
                    }
                    if (end == RelayEnd.Cancelled) terminal.Dispose();
                    code = await Task.Run(terminal.Wait, CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    code = await CopyPipesAsync(process!, input, cancel).ConfigureAwait(false);
                }
                return code.Value;
            }
            finally
            {
                Finish(code);
            }

            ValueTask Output(OutputStream stream, ReadOnlyMemory<byte> data, CancellationToken c) =>
                Exec.Streams.Stdout || Exec.Streams.Stderr ? output(stream, data, c) : ValueTask.CompletedTask;

            async Task<int> CopyPipesAsync(StreamingExec p, Stream? client, CancellationToken c)
            {
                using var gate = new SemaphoreSlim(1);
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(c);
                using var killing = c.Register(p.Kill); // a pipe read is not cancellable: the process's end ends it
                var feeding = p.Stdin is not null && client is not null ? Task.Run(() => FeedAsync(p, client, stop.Token), CancellationToken.None) : Task.CompletedTask;
                if (client is null) p.CloseInput();
                try
                {
                    await Task.WhenAll(
                        PumpAsync(p.Stdout, OutputStream.Stdout, Exec.Streams.Stdout),
                        PumpAsync(p.Stderr, OutputStream.Stderr, Exec.Streams.Stderr)).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    p.Kill();
                }
                await stop.CancelAsync().ConfigureAwait(false);
                int exit = await Task.Run(p.Wait, CancellationToken.None).ConfigureAwait(false);
                p.CloseInput();
                return exit;

                async Task PumpAsync(Stream from, OutputStream kind, bool attached)
                {
                    var buffer = new byte[32768];
                    bool writing = attached;
                    int n;
                    while ((n = await from.ReadAsync(buffer, c).ConfigureAwait(false)) > 0)
                    {
                        if (!writing) continue;
                        await gate.WaitAsync(c).ConfigureAwait(false);
                        try
                        {
                            await output(kind, buffer.AsMemory(0, n), c).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is IOException or ObjectDisposedException)
                        {
                            writing = false; // the client is gone: the process still runs to its end, as under dockerd
                        }
                        finally
                        {
                            gate.Release();
                        }
                    }
                }
            }
        }

        /// <summary>The client's bytes to the process's stdin; the client's end of input is the process's.</summary>
        private static async Task FeedAsync(StreamingExec p, Stream client, CancellationToken cancel)
        {
            var buffer = new byte[32768];
            try
            {
                int n;
                while ((n = await client.ReadAsync(buffer, cancel).ConfigureAwait(false)) > 0)
                {
                    var stdin = p.Stdin;
                    if (stdin is null) return;
                    await stdin.WriteAsync(buffer.AsMemory(0, n), cancel).ConfigureAwait(false);
                    await stdin.FlushAsync(cancel).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // the process closed its stdin (EPIPE), or the client went away, or the exec ended
            }
            finally
            {
                p.CloseInput();
            }
        }

        private void Finish(int? code)
        {
            if (Interlocked.Exchange(ref finished, 1) == 0) service.Finish(Exec, code);
        }

        /// <summary>Releases the process's terminal or pipes; a run whose streams were never carried is ended.</summary>
        public void Dispose()
        {
            if (Volatile.Read(ref detached) == 0) terminal?.Dispose();
            process?.Dispose();
            Finish(null);
        }
    }
}
