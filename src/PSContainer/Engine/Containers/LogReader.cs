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
    /// the container has stopped and the end is reached, or cancellation; when the monitor rotates the file being
    /// followed, the old one is read to its end and the new one from its start. Only bytes up to the last newline are
    /// ever parsed: a record being written (the file grows a page at a time while the monitor writes) is held until
    /// its newline arrives.
    /// </summary>
    public static IEnumerable<ContainerLogRecord> Read(string path, bool follow, Func<bool> stillRunning, CancellationToken cancel)
    {
        if (!File.Exists(path))
        {
            if (!follow) yield break;
            while (!File.Exists(path) && stillRunning() && !cancel.IsCancellationRequested) Thread.Sleep(50);
            if (!File.Exists(path)) yield break;
        }
        var pending = new Dictionary<string, System.Text.StringBuilder>();
        // The current file is opened first: if the monitor rotates it now, the handle still reads it, and the
        // rotated copy of it (same inode) is skipped below.
        var current = Open(path);
        try
        {
            var currentId = FileIdentity.Of(current.SafeFileHandle);
            foreach (string rotated in RotatedFiles(path))
            {
                FileStream old;
                try
                {
                    old = Open(rotated);
                }
                catch (FileNotFoundException)
                {
                    continue; // deleted by a rotation meanwhile
                }
                using (old)
                {
                    if (FileIdentity.Of(old.SafeFileHandle) == currentId) continue;
                    foreach (var r in ReadStream(old, follow: false, () => false, () => false, pending, cancel)) yield return r;
                }
            }
            var read = new HashSet<FileIdentity> { currentId };
            while (true)
            {
                // Rotated away: what it holds is read to its end, then whatever came after it.
                var id = FileIdentity.Of(current.SafeFileHandle);
                bool Rotated() => FileIdentity.Of(path) is { } now && now != id;
                foreach (var r in ReadStream(current, follow, stillRunning, Rotated, pending, cancel)) yield return r;
                if (!follow || cancel.IsCancellationRequested || !Rotated()) yield break;
                current.Dispose();
                // Several rotations may have happened since: the files after this one, oldest first, are read to
                // their ends and the newest is followed.
                var successors = Successors(path, id, read, stillRunning, cancel);
                if (successors.Count == 0) yield break;
                for (int i = 0; i < successors.Count - 1; i++)
                {
                    using var done = successors[i];
                    read.Add(FileIdentity.Of(done.SafeFileHandle));
                    foreach (var r in ReadStream(done, follow: false, () => false, () => false, pending, cancel)) yield return r;
                }
                current = successors[^1];
                read.Add(FileIdentity.Of(current.SafeFileHandle));
            }
        }
        finally
        {
            current.Dispose();
        }
    }

    /// <summary>
    /// The log files written after the one identified by <paramref name="finished"/>, opened, oldest first (all of them
    /// if it is no longer among them). Waits while the monitor is between renaming the current file and making the
    /// next one.
    /// </summary>
    private static List<FileStream> Successors(string path, FileIdentity finished, HashSet<FileIdentity> read, Func<bool> stillRunning, CancellationToken cancel)
    {
        for (int attempt = 0; attempt < 2000 && !cancel.IsCancellationRequested; attempt++)
        {
            var chain = new List<(FileStream Stream, FileIdentity Id)>();
            foreach (string f in RotatedFiles(path).Append(path))
            {
                try
                {
                    var stream = Open(f);
                    chain.Add((stream, FileIdentity.Of(stream.SafeFileHandle)));
                }
                catch (FileNotFoundException)
                {
                    // renamed or deleted by a rotation meanwhile
                }
            }
            int at = chain.FindIndex(c => c.Id == finished);
            var next = chain.Skip(at + 1).Where(c => !read.Contains(c.Id)).ToList();
            foreach (var c in chain.Except(next)) c.Stream.Dispose();
            if (next.Count > 0 && FileIdentity.Of(path) is not null) return next.Select(c => c.Stream).ToList();
            foreach (var c in next) c.Stream.Dispose();
            if (!stillRunning() && FileIdentity.Of(path) is null) break;
            Thread.Sleep(5);
        }
        return [];
    }

    private static FileStream Open(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);

    /// <summary>FILE.1, FILE.2, … that exist, oldest (highest number) first.</summary>
    internal static IEnumerable<string> RotatedFiles(string path)
    {
        string? dir = Path.GetDirectoryName(path);
        if (dir is null || !Directory.Exists(dir)) return [];
        string prefix = Path.GetFileName(path) + ".";
        // Not a "container.log.*" pattern: .NET's wildcards let that match "container.log" itself.
        return Directory.EnumerateFiles(dir)
            .Where(f => Path.GetFileName(f).Length > prefix.Length && Path.GetFileName(f).StartsWith(prefix, StringComparison.Ordinal))
            .Select(f => (File: f, Suffix: Path.GetFileName(f)[prefix.Length..]))
            .Where(x => int.TryParse(x.Suffix, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
            .OrderByDescending(x => int.Parse(x.Suffix, System.Globalization.CultureInfo.InvariantCulture))
            .Select(x => x.File)
            .ToList();
    }

    /// <summary>Records of one file; with <paramref name="follow"/>, waits at its end until the container stops or
    /// <paramref name="rotated"/> says the file was rotated away.</summary>
    private static IEnumerable<ContainerLogRecord> ReadStream(FileStream stream, bool follow, Func<bool> stillRunning, Func<bool> rotated,
        Dictionary<string, System.Text.StringBuilder> pending, CancellationToken cancel)
    {
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
                // Rotated: nothing more will be written here (the monitor switches files between records).
                if (rotated())
                {
                    finalPass = true;
                    continue;
                }
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
