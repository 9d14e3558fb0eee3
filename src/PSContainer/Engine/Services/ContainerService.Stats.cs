using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

/// <summary>A pair of readings of one container: what docker's stats compares (precpu and cpu). Previous is null for a single reading.</summary>
public sealed record StatsReading(ContainerSample? Previous, ContainerSample Current);

public sealed partial class ContainerService
{
    /// <summary>The cgroup version the counters come from (v1 and v2 name memory.stat's fields differently).</summary>
    public int CgroupVersion => Manager.Cgroups.Version;

    /// <summary>The memory the host has: a container's limit when it has none (docker stats' LIMIT).</summary>
    public static long HostMemoryBytes() => ContainerManager.HostMemoryBytes();

    /// <summary>One reading of a container's counters (Get-ContainerStatistics pairs them itself, several containers at a time).</summary>
    public ContainerSample Sample(string idOrName) => Manager.Sample(ResolveId(idOrName));

    /// <summary>
    /// docker stats of one container. One shot: a single reading at once, nothing to compare it with. Otherwise a
    /// reading, then every <paramref name="interval"/> one more paired with the one before; without
    /// <paramref name="stream"/> only the first pair. Ends when the container is removed (after the readings of a
    /// stopped container, which are zeros), at <paramref name="maxReadings"/>, or on cancellation (the client left).
    /// </summary>
    public IEnumerable<StatsReading> Stats(string idOrName, bool stream, bool oneShot, TimeSpan interval, int maxReadings, CancellationToken cancel)
    {
        string id = ResolveId(idOrName); // a missing container fails here, before any answer
        var previous = Sample(id);
        if (oneShot && !stream)
        {
            yield return new StatsReading(null, previous);
            yield break;
        }
        for (int i = 0; i < maxReadings; i++)
        {
            if (cancel.WaitHandle.WaitOne(interval)) yield break;
            ContainerSample current;
            try
            {
                current = Sample(id);
            }
            catch (EngineException e) when (e.ErrorId == "ContainerNotFound")
            {
                yield break;
            }
            yield return new StatsReading(previous, current);
            if (!stream) yield break;
            previous = current;
        }
    }
}
