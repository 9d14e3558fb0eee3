using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

// docker run -i / docker attach / docker start -ai with stdin to a container made with -Interactive and no terminal:
// its monitor holds the container's stdin pipe (monitor/stdin.c) and serves it on the attach socket; this carries a
// front end's client input there. The output goes its own way, through Attach (the log).
public sealed partial class ContainerService
{
    /// <summary>
    /// Attaches to the stdin of a container created with <see cref="ContainerOptions.Interactive"/> and no terminal:
    /// of a running one now, of one not running its next start (docker run attaches first). Call
    /// <see cref="StdinAttach.RelayAsync"/> to carry the client's input; dispose to detach.
    /// </summary>
    public StdinAttach AttachStdin(string idOrName)
    {
        var c = RequireStdinPipe(idOrName);
        return new StdinAttach(this, c.Id, Attach(c.Id, stdout: false, stderr: false));
    }

    /// <summary>
    /// Connects to the stdin pipe of a running container made with -Interactive and no terminal, for a front end that
    /// sends input itself (Send-ContainerInput). Disposing it ends this client's input (with StdinOnce, the
    /// container's); <see cref="AttachConnection.EndInput"/> ends the container's in any case.
    /// </summary>
    public AttachConnection OpenStdin(string idOrName)
    {
        var c = RequireStdinPipe(idOrName);
        if (c.State is not (ContainerState.Running or ContainerState.Paused))
            throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, c.Name, $"Container {c.Name} is not running");
        return Manager.AttachStdinPipe(c.Id);
    }

    /// <summary>The container, when it was made with a stdin pipe (-Interactive, no -Tty); NoStdin otherwise.</summary>
    private Container RequireStdinPipe(string idOrName)
    {
        var c = Get(idOrName);
        if (c.Tty || !c.Interactive)
            throw new EngineException("NoStdin", ErrorKind.InvalidOperation, c.Name, c.Tty
                ? $"Container {c.Name} has a terminal: its input goes through it (docker attach, Enter-ContainerSession -Attach)"
                : $"Container {c.Name} has no stdin to attach to: create it with -Interactive");
        return c;
    }

    /// <summary>How a stdin relay ended.</summary>
    public enum StdinEnd
    {
        /// <summary>The client's input ended (with StdinOnce the container's stdin is closed: it reads EOF).</summary>
        InputClosed,
        /// <summary>The client typed its detach keys.</summary>
        Detached,
        /// <summary>The container's run ended (or it is gone): it takes no more input.</summary>
        NotRunning,
        Cancelled,
    }

    /// <summary>One client on a container's stdin.</summary>
    public sealed class StdinAttach : IDisposable
    {
        private readonly ContainerService service;
        private readonly AttachSession run; // only to learn whether the run it waits for has begun
        private AttachConnection? connection;

        internal StdinAttach(ContainerService service, string id, AttachSession run)
        {
            this.service = service;
            Id = id;
            this.run = run;
        }

        public string Id { get; }

        /// <summary>
        /// Copies <paramref name="input"/> to the container's stdin, through <paramref name="detachKeys"/> (empty: none),
        /// from the start of the container's run (input that came before it is held until then). Ends when the input
        /// ends (the connection to the monitor is then closed: with StdinOnce the container reads EOF once all was
        /// delivered), at the detach keys, or when the container's run ended.
        /// </summary>
        public async Task<StdinEnd> RelayAsync(Stream input, byte[] detachKeys, CancellationToken cancel)
        {
            var keys = new DetachKeyFilter(detachKeys);
            var buffer = new byte[16384];
            // A write blocked on a container that does not read is woken by a cancel (a client gone, a run ended).
            using var aborting = cancel.Register(() => Volatile.Read(ref connection)?.Abort());
            try
            {
                while (true)
                {
                    int n;
                    try
                    {
                        n = await input.ReadAsync(buffer, cancel).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is IOException or ObjectDisposedException)
                    {
                        n = 0; // the client went away: its input is over
                    }
                    if (n <= 0)
                    {
                        // Connected even now, so a container not started yet still sees this client's end of input.
                        return await ConnectAsync(cancel).ConfigureAwait(false) is null ? StdinEnd.NotRunning : StdinEnd.InputClosed;
                    }
                    var (send, detach) = keys.Filter(buffer.AsSpan(0, n));
                    if (send.Length > 0)
                    {
                        var c = await ConnectAsync(cancel).ConfigureAwait(false);
                        // Blocking while the container does not read: its monitor holds back, so the client is held too.
                        if (c is null || !await Task.Run(() => c.SendInput(send), CancellationToken.None).ConfigureAwait(false))
                            return StdinEnd.NotRunning;
                    }
                    if (detach) return StdinEnd.Detached;
                }
            }
            catch (OperationCanceledException)
            {
                return StdinEnd.Cancelled;
            }
            finally
            {
                Close();
            }
        }

        /// <summary>The monitor's stdin socket once the container runs; null when the run ended (or the container is gone).</summary>
        private async Task<AttachConnection?> ConnectAsync(CancellationToken cancel)
        {
            while (connection is null)
            {
                cancel.ThrowIfCancellationRequested();
                bool begun = run.HasBegun; // read before the state: a run that began and ended in between is seen as ended
                var now = service.Snapshot(Id);
                if (now is null) return null;
                if (now.State is ContainerState.Running or ContainerState.Paused)
                {
                    try
                    {
                        connection = service.Manager.AttachStdinPipe(Id);
                        break;
                    }
                    catch (EngineException)
                    {
                        // it ended meanwhile: the next look tells
                    }
                }
                else if (begun)
                {
                    return null;
                }
                await Task.Delay(begun ? 20 : 100, cancel).ConfigureAwait(false);
            }
            return connection;
        }

        private void Close()
        {
            var c = Interlocked.Exchange(ref connection, null);
            c?.Dispose();
        }

        public void Dispose()
        {
            Close();
            run.Dispose();
        }
    }
}
