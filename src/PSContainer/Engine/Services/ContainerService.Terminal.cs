using System.Collections.Concurrent;
using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

// docker attach / docker run -it / docker start -ai to a container made with a terminal: its monitor holds the pty
// and serves it on the attach socket (ContainerManager.Attach); this carries it to a front end's client streams.
public sealed partial class ContainerService
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<TerminalAttach, byte>> terminalAttaches = new(StringComparer.Ordinal);

    /// <summary>
    /// Attaches to the terminal of a container created with <see cref="ContainerOptions.Tty"/>: of a running one now,
    /// of one not running its next start (docker run attaches first). Call <see cref="TerminalAttach.RelayAsync"/>
    /// to carry the streams; dispose to detach.
    /// </summary>
    public TerminalAttach AttachTerminal(string idOrName)
    {
        var c = Get(idOrName);
        if (!c.Tty)
            throw new EngineException("NoTerminal", ErrorKind.InvalidOperation, c.Name, $"Container {c.Name} has no terminal (it was not created with Tty)");
        var attach = new TerminalAttach(this, c.Id, Attach(c.Id, stdout: true, stderr: true));
        terminalAttaches.GetOrAdd(c.Id, _ => new()).TryAdd(attach, 0);
        return attach;
    }

    /// <summary>
    /// docker resize of a container's terminal: through the attached sessions (kept for one still waiting for the
    /// start); with none, through a connection of its own to the monitor.
    /// </summary>
    public void ResizeTerminal(string idOrName, int rows, int columns)
    {
        var c = Get(idOrName);
        CheckSize(rows, columns, c.Name);
        if (!c.Tty)
            throw new EngineException("NoTerminal", ErrorKind.InvalidOperation, c.Name, $"Container {c.Name} has no terminal to resize (it was not created with Tty)");
        if (terminalAttaches.TryGetValue(c.Id, out var attaches) && !attaches.IsEmpty)
        {
            foreach (var a in attaches.Keys) a.Resize(rows, columns);
            return;
        }
        if (c.State is not (ContainerState.Running or ContainerState.Paused))
            throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, c.Name, $"Container {c.Id} is not running");
        var connection = Manager.Attach(c.Id);
        connection.Resize(rows, columns);
        connection.DetachAfterDelivery(TimeSpan.FromSeconds(2)); // dockerd's resize has taken effect when it answers
    }

    /// <summary>One client on a container's terminal.</summary>
    public sealed class TerminalAttach : IDisposable
    {
        private readonly ContainerService service;
        private readonly AttachSession log;
        private readonly object gate = new();
        private AttachConnection? connection;
        private (int Rows, int Columns)? size;

        internal TerminalAttach(ContainerService service, string id, AttachSession log)
        {
            this.service = service;
            Id = id;
            this.log = log;
        }

        public string Id { get; }

        internal void Resize(int rows, int columns)
        {
            lock (gate)
            {
                size = (rows, columns);
                connection?.Resize(rows, columns);
            }
        }

        /// <summary>
        /// Waits for the container to run, then carries its terminal: output to <paramref name="output"/>, the
        /// client's bytes (when given) to the terminal, with docker's detach keys (Ctrl+P Ctrl+Q) when asked. Ends
        /// when the container's process ends (Exited), the client detaches, or on cancellation. A run that ended
        /// before the monitor could be reached is shown from its log.
        /// </summary>
        public Task<RelayEnd> RelayAsync(Stream? input, OutputWriter output, bool detachKeys, CancellationToken cancel) =>
            RelayAsync(input, output, detachKeys ? DetachKeys.Default : [], cancel);

        /// <summary>The same with a detach sequence of the client's (<see cref="DetachKeys.Parse"/>); empty: none.</summary>
        public async Task<RelayEnd> RelayAsync(Stream? input, OutputWriter output, byte[] detachKeys, CancellationToken cancel)
        {
            while (true)
            {
                if (cancel.IsCancellationRequested) return RelayEnd.Cancelled;
                bool begun = log.HasBegun; // read before the state: a run that began and ended in between is seen as ended
                var now = service.Snapshot(Id);
                if (now is null) return await ReplayAsync(output, cancel).ConfigureAwait(false);
                if (now.State is ContainerState.Running or ContainerState.Paused)
                {
                    if (TryConnect() is { } connected)
                    {
                        using (connected)
                            return await TerminalStreams.RelayAsync(connected, input, output, detachKeys, cancel).ConfigureAwait(false);
                    }
                }
                else if (begun)
                {
                    return await ReplayAsync(output, cancel).ConfigureAwait(false);
                }
                // Soon after a start (the monitor's early output keeps what the terminal printed meanwhile); a
                // container nobody starts is looked at ten times a second.
                await Task.Delay(begun ? 20 : 100, cancel).ConfigureAwait(false);
            }
        }

        private AttachConnection? TryConnect()
        {
            try
            {
                var c = service.Manager.Attach(Id);
                lock (gate)
                {
                    connection = c;
                    if (size is { } s) c.Resize(s.Rows, s.Columns);
                }
                log.Dispose(); // the monitor carries the output from here
                return c;
            }
            catch (EngineException)
            {
                return null; // not running any more, or its monitor not listening yet: the caller looks again
            }
        }

        /// <summary>The run's output from its log (a terminal's output is logged as stdout lines).</summary>
        private async Task<RelayEnd> ReplayAsync(OutputWriter output, CancellationToken cancel)
        {
            using var records = log.Read(cancel).GetEnumerator();
            while (await Task.Run(records.MoveNext, cancel).ConfigureAwait(false))
                await output(OutputStream.Terminal, System.Text.Encoding.UTF8.GetBytes(records.Current.Line + "\n"), cancel).ConfigureAwait(false);
            return RelayEnd.Exited;
        }

        public void Dispose()
        {
            lock (gate)
            {
                connection?.Dispose();
                connection = null;
            }
            log.Dispose();
            if (service.terminalAttaches.TryGetValue(Id, out var attaches)) attaches.TryRemove(this, out _);
        }
    }
}
