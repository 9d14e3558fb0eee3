using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

public sealed partial class ContainerService
{
    /// <summary>docker logs: the container's records filtered by stream and time, the last Tail of them, then (with
    /// Follow) new ones until the container stops.</summary>
    public IEnumerable<ContainerLogRecord> Logs(string idOrName, LogQuery query, CancellationToken cancel)
    {
        string id = ResolveId(idOrName);
        bool Wanted(ContainerLogRecord r) =>
            (r.Stream == "stdout" ? query.Stdout : r.Stream == "stderr" && query.Stderr)
            && (query.Since is not DateTime since || r.Time >= since)
            && (query.Until is not DateTime until || r.Time < until);
        int skip = 0;
        if (query.Tail is int tail and >= 0)
        {
            // The records there are now, counted first, so the tail of a followed log is the tail of what exists.
            int count = Manager.Logs(id, follow: false, cancel).Count(Wanted);
            skip = Math.Max(0, count - tail);
        }
        return Manager.Logs(id, query.Follow, cancel).Where(Wanted).Skip(skip);
    }
}
