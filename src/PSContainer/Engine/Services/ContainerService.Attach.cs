using System.Collections.Concurrent;
using System.Text;
using PSContainer.Engine.Containers;
using PSContainer.Native;

namespace PSContainer.Engine.Services;

public sealed partial class ContainerService
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<AttachSession, byte>> pendingAttaches = new(StringComparer.Ordinal);

    /// <summary>
    /// Attaches to a container's output (docker attach without stdin): of a running container, what it writes from
    /// now on; of one not running, the output of its next start (docker run attaches before it starts). The session
    /// ends when that run ends. Dispose it to detach.
    /// </summary>
    public AttachSession Attach(string idOrName, bool stdout, bool stderr)
    {
        string id = ResolveId(idOrName);
        var session = new AttachSession(this, id, stdout, stderr);
        lock (GateOf(id))
        {
            var c = Manager.Get(id);
            if (c.State is ContainerState.Running or ContainerState.Paused)
            {
                string log = Manager.LogPath(id);
                session.Open(log, File.Exists(log) ? new FileInfo(log).Length : 0, beforeStart: false);
            }
            else
            {
                pendingAttaches.GetOrAdd(id, _ => new()).TryAdd(session, 0);
            }
        }
        return session;
    }

    private void OpenPendingAttaches(string id, string log)
    {
        if (!pendingAttaches.TryRemove(id, out var sessions)) return;
        if (!File.Exists(log))
        {
            // The monitor's own mode for it (0640); its O_CREAT then opens this file.
            using var made = new FileStream(log, new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate,
                Access = FileAccess.Write,
                Share = FileShare.ReadWrite | FileShare.Delete,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead,
            });
        }
        long offset = new FileInfo(log).Length;
        foreach (var session in sessions.Keys) session.Open(log, offset, beforeStart: true);
    }

    private void Forget(AttachSession session)
    {
        if (pendingAttaches.TryGetValue(session.Id, out var sessions)) sessions.TryRemove(session, out _);
    }

    /// <summary>True while the container runs (reconciled under its gate); false once it ended or is gone.</summary>
    private bool IsRunning(string id) => Snapshot(id) is { State: ContainerState.Running or ContainerState.Paused };

    /// <summary>One attach: the log opened at the offset where the run it follows begins.</summary>
    public sealed class AttachSession : IDisposable
    {
        private readonly ContainerService service;
        private readonly bool stdout, stderr;
        private readonly object gate = new();
        private LogChain? log;
        private bool openFailed, disposed;

        internal AttachSession(ContainerService service, string id, bool stdout, bool stderr)
        {
            this.service = service;
            Id = id;
            this.stdout = stdout;
            this.stderr = stderr;
        }

        public string Id { get; }

        /// <summary>True once the run this session follows has begun (or the container was running when it attached).</summary>
        internal bool HasBegun
        {
            get { lock (gate) return log is not null || openFailed; }
        }

        /// <param name="beforeStart">Opened for the next start (docker run attaches, then starts), not on a running container.</param>
        internal void Open(string path, long offset, bool beforeStart)
        {
            lock (gate)
            {
                if (disposed) return;
                LogFollowRun? run = null;
                FileStream? stream = null;
                try
                {
                    // Opened now, under the container's gate: the handle keeps the file readable even when the
                    // container is auto-removed (its directory deleted) before this session has read it, and the
                    // run's hold keeps the files rotated after it until the chain has them open.
                    run = service.Manager.FollowRun(Id, beforeStart, () => service.IsRunning(Id));
                    stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
                    log = LogChain.FromFile(path, stream, run);
                }
                catch (IOException)
                {
                    stream?.Dispose();
                    run?.Dispose();
                    openFailed = true; // the start failed before the monitor made the log: nothing to read
                }
                Monitor.PulseAll(gate);
            }
        }

        /// <summary>The run's output, record by record, until it ends (or cancellation).</summary>
        public IEnumerable<ContainerLogRecord> Read(CancellationToken cancel)
        {
            LogChain? chain;
            lock (gate)
            {
                while (log is null && !openFailed && !disposed && !cancel.IsCancellationRequested) Monitor.Wait(gate, 100);
                chain = log;
            }
            if (chain is null) yield break;
            foreach (var r in chain.Records(cancel))
                if (r.Stream == "stdout" ? stdout : r.Stream == "stderr" && stderr)
                    yield return r;
        }

        public void Dispose()
        {
            lock (gate)
            {
                disposed = true;
                log?.Dispose();
                Monitor.PulseAll(gate);
            }
            service.Forget(this);
        }
    }
}
