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
                session.Open(log, File.Exists(log) ? new FileInfo(log).Length : 0);
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
        private string path = "";
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
                    this.path = path;
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
            var parser = new RecordParser(stdout, stderr);
            var read = new HashSet<FileIdentity> { FileIdentity.Of(stream.SafeFileHandle) };
            bool ended = false;
            while (!cancel.IsCancellationRequested)
            {
                foreach (var r in parser.ReadToEnd(stream)) yield return r;
                if (Rotated(stream))
                {
                    // The monitor renamed the file away (perhaps several times): the files written after this one
                    // are read whole, oldest first, and the newest is followed, so no line is lost to a rotation.
                    var chain = Successors(FileIdentity.Of(stream.SafeFileHandle), read);
                    if (chain.Count > 0)
                    {
                        for (int i = 0; i < chain.Count - 1; i++)
                            using (chain[i])
                                foreach (var r in parser.ReadToEnd(chain[i])) yield return r;
                        lock (gate)
                        {
                            stream.Dispose();
                            log = stream = chain[^1];
                            if (disposed) { stream.Dispose(); yield break; }
                        }
                        continue;
                    }
                }
                // At the end: once the run has ended, what the monitor wrote before recording the exit is all there is.
                if (ended) yield break;
                if (!service.IsRunning(Id)) ended = true;
                else Thread.Sleep(20);
            }
        }

        private bool Rotated(FileStream stream) => FileIdentity.Of(path) is { } now && now != FileIdentity.Of(stream.SafeFileHandle);

        /// <summary>The log files after the one identified by <paramref name="finished"/> (all unread ones when it is gone), opened, oldest first.</summary>
        private List<FileStream> Successors(FileIdentity finished, HashSet<FileIdentity> read)
        {
            var chain = new List<(FileStream Stream, FileIdentity Id)>();
            // A rotation renames FILE.i to FILE.(i+1) one file at a time: a listing made meanwhile can miss a file or
            // put two in the wrong order. A chain is taken only when every name still names the file opened by it.
            for (int attempt = 0; ; attempt++)
            {
                var names = LogReader.RotatedFiles(path).Append(path).ToList();
                var opened = new List<(string Name, FileStream Stream, FileIdentity Id)>();
                foreach (string f in names)
                {
                    try
                    {
                        var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                        opened.Add((f, s, FileIdentity.Of(s.SafeFileHandle)));
                    }
                    catch (IOException)
                    {
                        // renamed or deleted by a rotation meanwhile
                    }
                }
                bool stable = opened.Count == names.Count && opened.All(o => FileIdentity.Of(o.Name) == o.Id)
                              && LogReader.RotatedFiles(path).Append(path).SequenceEqual(names);
                if (stable || attempt >= 200)
                {
                    chain.AddRange(opened.Select(o => (o.Stream, o.Id)));
                    break;
                }
                foreach (var o in opened) o.Stream.Dispose();
                Thread.Sleep(5);
            }
            int at = chain.FindIndex(c => c.Id == finished);
            var next = chain.Skip(at + 1).Where(c => !read.Contains(c.Id)).ToList();
            foreach (var c in chain.Except(next)) c.Stream.Dispose();
            foreach (var c in next) read.Add(c.Id);
            return next.Select(c => c.Stream).ToList();
        }

        /// <summary>CRI records from the bytes of one or more files: whole lines only, P parts joined to their F.</summary>
        private sealed class RecordParser(bool stdout, bool stderr)
        {
            private readonly byte[] buffer = new byte[64 * 1024];
            private readonly List<byte> pending = new();
            private readonly Dictionary<string, StringBuilder> partial = new();

            public IEnumerable<ContainerLogRecord> ReadToEnd(FileStream stream)
            {
                int n;
                while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
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
                }
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
