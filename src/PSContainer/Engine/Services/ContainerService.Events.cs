using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

public sealed partial class ContainerService
{
    /// <summary>
    /// docker events: the recorded events from <paramref name="since"/>, filtered as dockerd filters (see <see cref="EventMatches"/>), then — unless
    /// <paramref name="until"/> has passed — each new one as it is recorded, until <paramref name="until"/> or
    /// cancellation.
    /// </summary>
    public IEnumerable<ContainerEvent> Events(DateTime? since, DateTime? until, IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken cancel)
    {
        foreach (var (key, _) in filters)
            if (key is not ("container" or "image" or "type" or "event" or "label"))
                throw new EngineException("InvalidFilter", ErrorKind.InvalidArgument, key, $"Invalid filter '{key}'");
        // Checked above, at the call; the events are read as they are enumerated.
        // As dockerd: without either bound only what happens from now; with until alone every recorded one before it.
        DateTime? from = since ?? (until is null ? DateTime.UtcNow : null);
        return Manager.Events(from, until, follow: true, TimeSpan.FromMilliseconds(200), cancel).Where(e => EventMatches(e, filters));
    }

    /// <summary>
    /// dockerd's event filters: values of one filter are alternatives, filters all must hold. container: the id or
    /// name, or a prefix of either; image: the image attribute, or the image without its tag; type and event: exact;
    /// label: "key" or "key=value" among the attributes (a container's labels are recorded with its events).
    /// </summary>
    public static bool EventMatches(ContainerEvent e, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        foreach (var (key, values) in filters)
        {
            if (values.Count == 0) continue;
            bool any = key switch
            {
                "container" => values.Any(v => e.Id.StartsWith(v, StringComparison.Ordinal) || e.Name.StartsWith(v.TrimStart('/'), StringComparison.Ordinal)),
                "image" => values.Any(v => e.Attributes.TryGetValue("image", out var image) && (image == v || WithoutTag(image) == v)),
                "type" => values.Contains(e.Type, StringComparer.Ordinal),
                "event" => values.Contains(e.Action, StringComparer.Ordinal),
                "label" => values.Any(v => v.IndexOf('=') is int eq and > 0
                    ? e.Attributes.TryGetValue(v[..eq], out var value) && value == v[(eq + 1)..]
                    : e.Attributes.ContainsKey(v)),
                _ => false,
            };
            if (!any) return false;
        }
        return true;
    }

    private static string WithoutTag(string image)
    {
        int slash = image.LastIndexOf('/'), colon = image.LastIndexOf(':');
        return colon > slash ? image[..colon] : image;
    }
}
