using System.Collections.Concurrent;
using System.Text;
using PSContainer.Engine.Containers;

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
                session.Open(log, File.Exists(log) ? new FileInfo(log).Length : 0);
            }
            else
            {
                pendingAttaches.GetOrAdd(id, _ => new()).TryAdd(session, 0);
            }
        }
        return session;
    }

    private void OpenPendingAttaches(string id, string log, long offset)
    {
        if (!pendingAttaches.TryRemove(id, out var sessions)) return;
        foreach (var session in sessions.Keys) session.Open(log, offset);
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
        private FileStream? log;
        private bool openFailed, disposed;

        internal AttachSession(ContainerService service, string id, bool stdout, bool stderr)
        {
            this.service = service;
            Id = id;
            this.stdout = stdout;
            this.stderr = stderr;
        }

        public string Id { get; }

        internal void Open(string path, long offset)
        {
            lock (gate)
            {
                try
                {
                    // Opened now, under the container's gate: the handle keeps the file readable even when the
                    // container is auto-removed (its directory deleted) before this session has read it.
                    var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
                    if (disposed) stream.Dispose();
                    else log = stream;
                }
                catch (IOException)
                {
                    openFailed = true; // the start failed before the monitor made the log: nothing to read
                }
                Monitor.PulseAll(gate);
            }
        }

        /// <summary>The run's output, record by record, until it ends (or cancellation).</summary>
        public IEnumerable<ContainerLogRecord> Read(CancellationToken cancel)
        {
            FileStream? stream;
            lock (gate)
            {
                while (log is null && !openFailed && !disposed && !cancel.IsCancellationRequested) Monitor.Wait(gate, 100);
                stream = log;
            }
            if (stream is null) yield break;
            var buffer = new byte[64 * 1024];
            var pending = new List<byte>();
            var partial = new Dictionary<string, StringBuilder>();
            bool ended = false;
            while (!cancel.IsCancellationRequested)
            {
                int n = stream.Read(buffer, 0, buffer.Length);
                if (n > 0)
                {
                    pending.AddRange(buffer.AsSpan(0, n));
                    int last = pending.LastIndexOf((byte)'\n');
                    if (last < 0) continue;
                    string text = Encoding.UTF8.GetString(pending.GetRange(0, last).ToArray());
                    pending.RemoveRange(0, last + 1);
                    foreach (string line in text.Split('\n'))
                    {
                        if (!LogReader.TryParse(line, out var time, out var streamName, out bool isPartial, out var body)) continue;
                        var sb = partial.TryGetValue(streamName, out var b) ? b : partial[streamName] = new StringBuilder();
                        sb.Append(body);
                        if (isPartial) continue;
                        string whole = sb.ToString();
                        sb.Clear();
                        if (streamName == "stdout" ? stdout : streamName == "stderr" && stderr)
                            yield return new ContainerLogRecord(time, streamName, whole);
                    }
                    continue;
                }
                // At the end: once the run has ended, what the monitor wrote before recording the exit is all there is.
                if (ended) yield break;
                if (!service.IsRunning(Id)) ended = true;
                else Thread.Sleep(20);
            }
        }

        public void Dispose()
        {
            lock (gate)
            {
                disposed = true;
                log?.Dispose();
                log = null;
                Monitor.PulseAll(gate);
            }
            service.Forget(this);
        }
    }
}
