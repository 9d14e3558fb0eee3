using System.Globalization;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>One line of a container's output.</summary>
public sealed record ContainerLogRecord(DateTime Time, string Stream, string Line)
{
    public override string ToString() => Line;
}

/// <summary>
/// Reads the CRI (k8s-file) log the monitor writes: "TIME STREAM F|P TEXT" per record, where P records are parts
/// of a line the F record ends.
/// </summary>
public static class LogReader
{
    public static bool TryParse(string record, out DateTime time, out string stream, out bool partial, out string text)
    {
        time = default;
        stream = text = "";
        partial = false;
        int a = record.IndexOf(' ');
        if (a < 0) return false;
        int b = record.IndexOf(' ', a + 1);
        if (b < 0) return false;
        int c = record.IndexOf(' ', b + 1);
        string tag = c < 0 ? record[(b + 1)..] : record[(b + 1)..c];
        if (!DateTime.TryParse(record.AsSpan(0, a), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out time))
            return false;
        stream = record[(a + 1)..b];
        partial = tag.StartsWith('P');
        text = c < 0 ? "" : record[(c + 1)..];
        return true;
    }

    /// <summary>
    /// Reads whole records from the log, the rotated files first (FILE.N … FILE.1, oldest first: see psc-monitor's
    /// logwriter). With <paramref name="follow"/>, keeps reading new ones until <paramref name="stillRunning"/> says
    /// the container has stopped and the end is reached, or cancellation.
    /// </summary>
    public static IEnumerable<ContainerLogRecord> Read(string path, bool follow, Func<bool> stillRunning, CancellationToken cancel) =>
        Read(path, follow ? () => new LogFollowRun(stillRunning) : null, cancel);

    /// <summary>
    /// Reads whole records from the log, oldest file first. With <paramref name="follow"/> (made when the reading
    /// begins, disposed when it ends), keeps reading new records until the run ends and every file is read, or
    /// cancellation; files rotated meanwhile are read in order (<see cref="LogChain"/>). Only bytes up to the last
    /// newline are ever parsed: a record being written is held until its newline arrives.
    /// </summary>
    public static IEnumerable<ContainerLogRecord> Read(string path, Func<LogFollowRun>? follow, CancellationToken cancel)
    {
        using var run = follow?.Invoke();
        var chain = LogChain.Open(path, run);
        while (chain is null && run is not null && !cancel.IsCancellationRequested && !run.HasEnded(askEngine: true))
        {
            Thread.Sleep(50);
            chain = LogChain.Open(path, run);
        }
        // A run that began and ended between the last look and the end: its log is there now.
        if (run is not null && !cancel.IsCancellationRequested) chain ??= LogChain.Open(path, run);
        if (chain is null) yield break;
        using (chain)
            foreach (var r in chain.Records(cancel)) yield return r;
    }

    /// <summary>
    /// CRI records from the bytes of one or more files: whole lines only (the rest is kept for the next read), P parts
    /// joined to the F record that ends them, per stream.
    /// </summary>
    internal sealed class RecordParser
    {
        private readonly byte[] buffer = new byte[1 << 16];
        private readonly List<byte> tail = [];
        private readonly Dictionary<string, System.Text.StringBuilder> partial = new(StringComparer.Ordinal);
        private Stream? last;

        public IEnumerable<ContainerLogRecord> ReadToEnd(Stream stream)
        {
            // A file ends with a whole record (the monitor rotates between records): bytes left from another file are
            // a record it never finished (a failed write), not the start of this file's first one.
            if (!ReferenceEquals(stream, last)) tail.Clear();
            last = stream;
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                int start = 0;
                for (int i = 0; i < n; i++)
                {
                    if (buffer[i] != (byte)'\n') continue;
                    string line;
                    if (tail.Count > 0)
                    {
                        tail.AddRange(buffer.AsSpan(start, i - start));
                        line = System.Text.Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(tail));
                        tail.Clear();
                    }
                    else
                    {
                        line = System.Text.Encoding.UTF8.GetString(buffer, start, i - start);
                    }
                    start = i + 1;
                    if (!TryParse(line, out var time, out var streamName, out bool isPartial, out string text)) continue;
                    if (isPartial)
                    {
                        if (!partial.TryGetValue(streamName, out var sb)) partial[streamName] = sb = new System.Text.StringBuilder();
                        sb.Append(text);
                        continue;
                    }
                    if (partial.Remove(streamName, out var prefix)) text = prefix.Append(text).ToString();
                    yield return new ContainerLogRecord(time, streamName, text);
                }
                if (start < n) tail.AddRange(buffer.AsSpan(start, n - start));
            }
        }
    }
}
