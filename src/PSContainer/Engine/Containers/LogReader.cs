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
    /// Reads whole lines from the log. With <paramref name="follow"/>, keeps reading new lines until
    /// <paramref name="stillRunning"/> says the container has stopped and the end is reached, or cancellation.
    /// </summary>
    public static IEnumerable<ContainerLogRecord> Read(string path, bool follow, Func<bool> stillRunning, CancellationToken cancel)
    {
        if (!File.Exists(path))
        {
            if (!follow) yield break;
            while (!File.Exists(path) && stillRunning() && !cancel.IsCancellationRequested) Thread.Sleep(50);
            if (!File.Exists(path)) yield break;
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var pending = new Dictionary<string, System.Text.StringBuilder>();
        string carry = "";
        int idleMs = 1;
        while (!cancel.IsCancellationRequested)
        {
            string? line = reader.ReadLine();
            if (line is null)
            {
                if (!follow) yield break;
                bool running = stillRunning();
                // One more read after the container stopped: the monitor may have written its last lines meanwhile.
                line = reader.ReadLine();
                if (line is null)
                {
                    if (!running) yield break;
                    // Back off while the container is quiet: short runs end within milliseconds, long quiet ones
                    // cost a check every 100 ms at most.
                    Thread.Sleep(idleMs);
                    idleMs = Math.Min(idleMs * 2, 100);
                    continue;
                }
            }
            idleMs = 1;
            // A record being written while we read may come in two pieces; only whole records (ending in \n)
            // are parsed, which StreamReader cannot tell us, so re-join on a parse failure.
            if (carry.Length > 0) { line = carry + line; carry = ""; }
            if (!TryParse(line, out var time, out var streamName, out bool partial, out string text))
            {
                if (follow && reader.EndOfStream) { carry = line; continue; }
                continue;
            }
            if (partial)
            {
                if (!pending.TryGetValue(streamName, out var sb)) pending[streamName] = sb = new System.Text.StringBuilder();
                sb.Append(text);
                continue;
            }
            if (pending.Remove(streamName, out var prefix)) text = prefix.Append(text).ToString();
            yield return new ContainerLogRecord(time, streamName, text);
        }
    }
}
