namespace PSContainer.Engine.Storage;

/// <summary>
/// Stops a write-heavy operation (unpacking layers, writing blobs) before the state root's file system is full:
/// docker sets no limit on what an image unpacks to, and neither do we, but a full file system breaks every other
/// session and the system around it. Checks the free space every <see cref="CheckEvery"/> bytes written (safe
/// from parallel writers) and fails with InsufficientSpace while <see cref="Reserve"/> bytes are still free; the
/// caller then removes what it wrote.
/// </summary>
public sealed class SpaceGuard(string path, long reserve = SpaceGuard.DefaultReserve)
{
    /// <summary>What is kept free: enough for the database, logs and the rename of what was written.</summary>
    public const long DefaultReserve = 64L << 20;

    public const long CheckEvery = 8L << 20;

    /// <summary>$env:PSCONTAINER_SPACE_RESERVE (bytes) overrides the reserve, for tests on small file systems.</summary>
    public static SpaceGuard For(string path) =>
        new(path, long.TryParse(Environment.GetEnvironmentVariable("PSCONTAINER_SPACE_RESERVE"), out long r) && r >= 0 ? r : DefaultReserve);

    private long sinceCheck;

    public long Reserve { get; } = reserve;

    public void Written(long bytes)
    {
        if (Interlocked.Add(ref sinceCheck, bytes) < CheckEvery) return;
        Interlocked.Exchange(ref sinceCheck, 0);
        Check();
    }

    private void Check()
    {
        long free = new DriveInfo(path).AvailableFreeSpace;
        if (free < Reserve)
            throw new EngineException("InsufficientSpace", ErrorKind.ResourceUnavailable, path,
                $"The file system of {path} has {free / 1048576.0:F1} MiB left: stopped before it fills up (keeping {Reserve / 1048576.0:F0} MiB free). Free some space (Remove-ContainerImage, Remove-Container) and try again.");
    }
}
