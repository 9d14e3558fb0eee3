using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// What a follower of a container's log (an attach, Get-ContainerLog -Follow, docker logs -f) needs from the run it
/// follows: whether that run has ended, so the log is complete; and a hold on the log that keeps an auto-removal from
/// deleting the files before the follower has opened every one it still has to read (see
/// <see cref="ContainerManager.FollowRun"/>). The hold is released by <see cref="Release"/> or disposal.
/// </summary>
public sealed class LogFollowRun : IDisposable
{
    private static readonly TimeSpan FallbackInterval = TimeSpan.FromMilliseconds(250);
    private readonly string? exitFile;
    private readonly (FileIdentity Id, long WrittenNs)? exitBefore;
    private readonly Func<bool> stillRunning;
    private FileLock? hold;
    private long nextFallback;

    /// <summary>A run known only by <paramref name="stillRunning"/>: no exit record to watch, no hold.</summary>
    public LogFollowRun(Func<bool> stillRunning) => this.stillRunning = stillRunning;

    internal LogFollowRun(string exitFile, FileLock? hold, bool beforeStart, Func<bool> stillRunning)
    {
        this.exitFile = exitFile;
        this.hold = hold;
        this.stillRunning = stillRunning;
        // Before a start, an exit record there now is the last run's: only another file, or this one rewritten, is
        // the end of the run followed. Otherwise any record is (a run that ended and was not reconciled yet).
        if (beforeStart) exitBefore = FileIdentity.Version(exitFile);
    }

    /// <summary>True while this follower holds the log against an auto-removal.</summary>
    public bool Holds => Volatile.Read(ref hold) is not null;

    /// <summary>
    /// True once the run has ended. The monitor writes its exit record after the last log record, so once this run's
    /// record is there the log is complete. Without one, at most every quarter second (and only when
    /// <paramref name="askEngine"/>), the engine is asked whether the container still runs: that covers a monitor
    /// that died without a record, a start that failed, a container that was never started or is gone.
    /// </summary>
    public bool HasEnded(bool askEngine)
    {
        if (exitFile is not null && FileIdentity.Version(exitFile) is { } now && now != exitBefore) return true;
        if (!askEngine || Environment.TickCount64 < Volatile.Read(ref nextFallback)) return false;
        Volatile.Write(ref nextFallback, Environment.TickCount64 + (long)FallbackInterval.TotalMilliseconds);
        return !stillRunning();
    }

    /// <summary>The follower has every file it will read open: an auto-removal may delete them.</summary>
    public void Release() => Interlocked.Exchange(ref hold, null)?.Dispose();

    public void Dispose() => Release();
}
