using System.Globalization;

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
    /// Reads whole records from the log. With <paramref name="follow"/>, keeps reading new ones until
    /// <paramref name="stillRunning"/> says the container has stopped and the end is reached, or cancellation.
    /// Only bytes up to the last newline are ever parsed: a record being written (the file grows a page at a time
    /// while the monitor writes) is held until its newline arrives.
    /// </summary>
    public static IEnumerable<ContainerLogRecord> Read(string path, bool follow, Func<bool> stillRunning, CancellationToken cancel)
    {
        if (!File.Exists(path))
        {
            if (!follow) yield break;
            while (!File.Exists(path) && stillRunning() && !cancel.IsCancellationRequested) Thread.Sleep(50);
            if (!File.Exists(path)) yield break;
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        var pending = new Dictionary<string, System.Text.StringBuilder>();
        var buffer = new byte[1 << 16];
        var tail = new List<byte>();
        int idleMs = 1;
        bool finalPass = false;
        while (!cancel.IsCancellationRequested)
        {
            int n = stream.Read(buffer, 0, buffer.Length);
            if (n == 0)
            {
                if (!follow || finalPass) yield break;
                // One more pass after the container stopped: the monitor may have written its last lines meanwhile.
                if (!stillRunning())
                {
                    finalPass = true;
                    continue;
                }
                // Back off while the container is quiet: short runs end within milliseconds, long quiet ones
                // cost a check every 100 ms at most.
                Thread.Sleep(idleMs);
                idleMs = Math.Min(idleMs * 2, 100);
                continue;
            }
            idleMs = 1;
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                string line;
                if (tail.Count > 0)
                {
                    tail.AddRange(buffer.AsSpan(start, i - start).ToArray());
                    line = System.Text.Encoding.UTF8.GetString(tail.ToArray());
                    tail.Clear();
                }
                else
                {
                    line = System.Text.Encoding.UTF8.GetString(buffer, start, i - start);
                }
                start = i + 1;
                if (!TryParse(line, out var time, out var streamName, out bool partial, out string text)) continue;
                if (partial)
                {
                    if (!pending.TryGetValue(streamName, out var sb)) pending[streamName] = sb = new System.Text.StringBuilder();
                    sb.Append(text);
                    continue;
                }
                if (pending.Remove(streamName, out var prefix)) text = prefix.Append(text).ToString();
                yield return new ContainerLogRecord(time, streamName, text);
            }
            if (start < n) tail.AddRange(buffer.AsSpan(start, n - start).ToArray());
        }
    }
}
