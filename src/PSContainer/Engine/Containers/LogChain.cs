using System.Globalization;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// The files of one container log, walked oldest first as psc-monitor's logwriter keeps them: it writes FILE and,
/// when FILE is full, renames FILE.(i) to FILE.(i+1) one file at a time from the oldest down (dropping the one past
/// max-file), renames FILE to FILE.1 and makes a new FILE. A rotation happens between records, so a file renamed away
/// is complete. Files are found by identity, never by a listing alone: a listing taken during a rotation can miss a
/// file or put two in the wrong order, and a reader that fell behind a fast writer used to lose whole files that way.
/// <para>
/// The reader reads <see cref="Current"/> to its end and calls <see cref="WaitForMore"/>, which says whether there is
/// more (in Current, or in the next file, which becomes Current). Following, it waits for more records, a rotation
/// or the end of the run; when the run ends every file still to read is opened at once, by a timer as well as by the
/// reader, so the follower's hold on the log can go even while the reader is blocked handing out a record to a slow
/// client: an auto-removal then waits for nobody.
/// </para>
/// </summary>
internal sealed class LogChain : IDisposable
{
    private readonly string path;
    private readonly LogFollowRun? run;
    private readonly object gate = new();
    private readonly Queue<FileStream> queued = new();
    private readonly HashSet<FileIdentity> opened = [];
    private readonly Timer? endWatch;
    private FileIdentity newest;
    private int newestAt; // where newest was last seen (0 = FILE): where Locate looks first
    private bool complete, readSinceSealed, disposed;
    private long lastPosition = -1;
    private int idleMs = 1;

    /// <param name="files">The files to read, open, oldest first; the first positioned where reading starts.</param>
    /// <param name="run">The run to follow; null reads to the end of what is there.</param>
    private LogChain(string path, IReadOnlyList<FileStream> files, LogFollowRun? run)
    {
        this.path = path;
        this.run = run;
        Current = files[0];
        foreach (var f in files) opened.Add(FileIdentity.Of(f.SafeFileHandle));
        foreach (var f in files.Skip(1)) queued.Enqueue(f);
        newest = FileIdentity.Of(files[^1].SafeFileHandle); // at FILE: newestAt 0
        complete = run is null;
        if (run is { Holds: true }) endWatch = new Timer(_ => SecureIfEnded(), null, 25, 25);
    }

    public FileStream Current { get; private set; }

    /// <summary>Follows from <paramref name="file"/>, open on the log's current file (an attach: at the offset where its run begins).</summary>
    public static LogChain FromFile(string path, FileStream file, LogFollowRun run) => new(path, [file], run);

    /// <summary>Every file of the log there is now, oldest first; null when there is no log.</summary>
    public static LogChain? Open(string path, LogFollowRun? run)
    {
        var newestFile = TryOpen(path);
        // Between the rename of FILE and the making of the next one there is a FILE.1 but no FILE.
        for (int attempt = 0; newestFile is null && attempt < 10_000 && FileIdentity.Of(NameOf(path, 1)) is not null; attempt++)
        {
            Thread.Yield();
            newestFile = TryOpen(path);
        }
        if (newestFile is null) return null;
        var files = new List<FileStream> { newestFile };
        try
        {
            int at = 0;
            while (OpenPredecessor(path, FileIdentity.Of(files[0].SafeFileHandle), ref at) is { } older) files.Insert(0, older);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
        return new LogChain(path, files, run);
    }

    /// <summary>Its records, oldest first, until the log is read to its end (<see cref="WaitForMore"/>).</summary>
    public IEnumerable<ContainerLogRecord> Records(CancellationToken cancel)
    {
        var parser = new LogReader.RecordParser();
        do
        {
            foreach (var r in parser.ReadToEnd(Current)) yield return r;
        }
        while (WaitForMore(cancel));
    }

    /// <summary>
    /// After <see cref="Current"/> was read to its end: true when there may be more to read (Current may have grown, or
    /// the next file is now Current), false when the log is read to its end (or on cancellation). Following a quiet
    /// run, sleeps a little (1 ms, doubling to 50) before saying true.
    /// </summary>
    public bool WaitForMore(CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            lock (gate)
            {
                if (disposed) return false;
                // Current is complete once a later file is open or the run has ended; it is left only after a read
                // that began when that was known, so nothing written to it just before is skipped.
                if (queued.Count > 0 || complete)
                {
                    if (!readSinceSealed)
                    {
                        readSinceSealed = true;
                        return true;
                    }
                    if (queued.Count == 0) return false;
                    Current.Dispose();
                    Current = queued.Dequeue();
                    readSinceSealed = false;
                    lastPosition = -1;
                    return true;
                }
                if (Current.Position != lastPosition)
                {
                    // The last read found records: look again before asking anything.
                    lastPosition = Current.Position;
                    idleMs = 1;
                    return true;
                }
                if (FileIdentity.Of(path) is { } atPath && atPath != newest)
                {
                    TakeSuccessors();
                    if (queued.Count > 0) continue;
                }
            }
            // Outside the gate: asking the engine may reconcile the container, and an auto-removal waits for this
            // chain's hold, which the timer releases under the gate.
            if (run!.HasEnded(askEngine: true))
            {
                lock (gate) Secure();
                continue;
            }
            Thread.Sleep(idleMs);
            idleMs = Math.Min(idleMs * 2, 50);
            return true;
        }
        return false;
    }

    /// <summary>The timer's check: once the run has ended, opens what is left and lets the hold go.</summary>
    private void SecureIfEnded()
    {
        try
        {
            if (Volatile.Read(ref complete) || !run!.HasEnded(askEngine: false)) return;
            lock (gate)
            {
                if (!disposed) Secure();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NativeException)
        {
            // The next tick tries again; the reader's own check does the same.
        }
    }

    /// <summary>Under the gate, after the run ended: nothing is renamed any more, so every later file is opened now.</summary>
    private void Secure()
    {
        if (complete) return;
        TakeSuccessors();
        Volatile.Write(ref complete, true);
        run!.Release();
        endWatch?.Dispose();
    }

    /// <summary>Under the gate: opens the files written after the newest open one, in order.</summary>
    private void TakeSuccessors()
    {
        while (OpenSuccessor(newest, ref newestAt) is { } next)
        {
            var id = FileIdentity.Of(next.SafeFileHandle);
            if (!opened.Add(id))
            {
                next.Dispose();
                break;
            }
            queued.Enqueue(next);
            newest = id;
        }
    }

    /// <summary>
    /// The file written after <paramref name="file"/>, opened, or null while <paramref name="file"/> is the newest. It
    /// is taken at the name one below <paramref name="file"/>'s, and only if <paramref name="file"/> still had its name
    /// after the open: renames go from the oldest file down, so nothing moved in between.
    /// </summary>
    private FileStream? OpenSuccessor(FileIdentity file, ref int hint)
    {
        for (int attempt = 0; attempt < 10_000; attempt++)
        {
            int at = Locate(path, file, hint);
            if (at == 0) return null;
            if (at < 0) return OpenOldestUnread(ref hint);
            if (TryOpen(NameOf(path, at - 1)) is { } next)
            {
                if (FileIdentity.Of(NameOf(path, at)) == file)
                {
                    hint = at - 1;
                    return next;
                }
                next.Dispose();
            }
            else if (at >= 2 && FileIdentity.Of(NameOf(path, at)) == file && OpenBelowGap(file, at, ref hint) is { } below)
            {
                return below;
            }
            // Between the rename of FILE and the making of the next one, or a rotation moving the two: again.
            Thread.Yield();
        }
        return null;
    }

    /// <summary>
    /// FILE.(at-1) was empty while <paramref name="file"/> stayed FILE.at. Mostly that is a rotation under way: the
    /// file has just moved up from at-1, and the next one (its successor) is about to move into the name it left. It
    /// can also be a gap the monitor left (an older monitor that could not make the new FILE renamed FILE.1 back, and
    /// later rotations carried the empty name up). The first file below the empty names is taken only if those names
    /// are still empty after it was opened: during a rotation its successor moves into at-1 at once (and is taken on
    /// the next try), while a gap stays.
    /// </summary>
    private FileStream? OpenBelowGap(FileIdentity file, int at, ref int hint)
    {
        for (int j = at - 2; j >= 0; j--)
        {
            if (TryOpen(NameOf(path, j)) is not { } below) continue;
            bool stillEmpty = true;
            for (int k = j + 1; k < at && stillEmpty; k++) stillEmpty = FileIdentity.Of(NameOf(path, k)) is null;
            if (stillEmpty && FileIdentity.Of(NameOf(path, at)) == file)
            {
                hint = j;
                return below;
            }
            below.Dispose();
            return null;
        }
        return null;
    }

    /// <summary>
    /// After a file was dropped past max-file before it was found again (a reader far behind a fast writer): the
    /// oldest file not yet read, which is what came after it. What the dropped files held is lost, as the option says.
    /// </summary>
    private FileStream? OpenOldestUnread(ref int hint)
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            foreach (int k in RotatedIndices(path).Append(0))
            {
                if (FileIdentity.Of(NameOf(path, k)) is not { } id || opened.Contains(id)) continue;
                if (TryOpen(NameOf(path, k)) is not { } f) break;
                // Taken only if what is above it (the next existing name: a rotation leaves one empty at a time) was
                // read, and it is still where it was after that look: a rotation may carry an older unread file past.
                FileIdentity? above = null;
                for (int j = k + 1, missing = 0; missing < 3 && above is null; j++)
                {
                    above = FileIdentity.Of(NameOf(path, j));
                    if (above is null) missing++;
                }
                bool stayed = FileIdentity.Of(f.SafeFileHandle) == id && FileIdentity.Of(NameOf(path, k)) == id;
                if (stayed && (above is null || opened.Contains(above.Value)))
                {
                    hint = k;
                    return f;
                }
                f.Dispose();
                break;
            }
            if (FileIdentity.Of(path) is { } atPath && opened.Contains(atPath)) return null;
            Thread.Yield();
        }
        return null;
    }

    /// <summary>
    /// The file before <paramref name="file"/>, opened, or null when it is the oldest there is: the first name above
    /// <paramref name="file"/>'s, kept only if <paramref name="file"/> still had its name after the open. A name
    /// found empty is passed over: a rotation that moved the older file up and not yet this one, or a gap the monitor
    /// left (see <see cref="OpenBelowGap"/>); either way the older file is the next one above.
    /// </summary>
    private static FileStream? OpenPredecessor(string path, FileIdentity file, ref int hint)
    {
        for (int attempt = 0; attempt < 10_000; attempt++)
        {
            int at = Locate(path, file, hint);
            if (at < 0) return null; // dropped meanwhile: so is everything older
            FileStream? older = null;
            int found = at + 1;
            for (int missing = 0; missing < 3 && older is null; found++)
            {
                older = TryOpen(NameOf(path, found));
                // The file itself, met during a rotation the monitor undid (FILE to FILE.1 and back): not older.
                if (older is not null && FileIdentity.Of(older.SafeFileHandle) == file)
                {
                    older.Dispose();
                    older = null;
                }
                if (older is null) missing++;
            }
            // Where file is, looked at last: unmoved since before the opens, so what was found above is still the
            // file before it (a rotation under way moves the older files first, each once).
            bool unmoved = FileIdentity.Of(NameOf(path, at)) == file;
            if (unmoved)
            {
                if (older is null) return null;
                hint = found - 1;
                return older;
            }
            older?.Dispose();
            Thread.Yield();
        }
        return null;
    }

    /// <summary>
    /// Where <paramref name="file"/> is now: 0 for FILE, i for FILE.i, -1 when it is gone. A file only moves up (FILE.i
    /// to FILE.(i+1)), or from FILE.1 back to FILE when the monitor undoes a rotation, so it is looked for from where
    /// it was last seen (<paramref name="hint"/>) upward, which keeps a walk over hundreds of files linear. A writer
    /// rotating while the scan runs can carry the file past it, so a scan that misses is made again before the file
    /// is taken for dropped (past max-file).
    /// </summary>
    private static int Locate(string path, FileIdentity file, int hint)
    {
        for (int pass = 0; pass < 3; pass++)
        {
            if (FileIdentity.Of(path) == file) return 0;
            // A rotation leaves one name empty at a time: three missing in a row is the end.
            for (int i = Math.Max(hint, 1), missing = 0; missing < 3; i++)
            {
                var id = FileIdentity.Of(NameOf(path, i));
                if (id == file) return i;
                missing = id is null ? missing + 1 : 0;
            }
        }
        return -1;
    }

    /// <summary>The N of every FILE.N there is, oldest (highest) first.</summary>
    private static List<int> RotatedIndices(string path)
    {
        string? dir = Path.GetDirectoryName(path);
        if (dir is null || !Directory.Exists(dir)) return [];
        string prefix = Path.GetFileName(path) + ".";
        var found = new List<int>();
        // Not a "container.log.*" pattern: .NET's wildcards let that match "container.log" itself.
        foreach (string f in Directory.EnumerateFiles(dir))
        {
            string name = Path.GetFileName(f);
            if (name.Length > prefix.Length && name.StartsWith(prefix, StringComparison.Ordinal) &&
                int.TryParse(name.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                found.Add(n);
        }
        found.Sort((a, b) => b.CompareTo(a));
        return found;
    }

    private static string NameOf(string path, int index) =>
        index == 0 ? path : path + "." + index.ToString(CultureInfo.InvariantCulture);

    private static FileStream? TryOpen(string name)
    {
        try
        {
            return new FileStream(name, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            endWatch?.Dispose();
            Current.Dispose();
            while (queued.TryDequeue(out var f)) f.Dispose();
        }
        run?.Release();
    }
}
