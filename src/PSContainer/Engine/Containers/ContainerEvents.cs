using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PSContainer.Engine.Containers;

/// <summary>Something that happened to a container (docker events): create, start, kill, die, oom, stop, destroy, rename.</summary>
public sealed class ContainerEvent
{
    public DateTime Time { get; init; }
    public string Type { get; init; } = "container";
    public string Action { get; init; } = "";
    public string Id { get; init; } = "";
    public string Name { get; init; } = "";
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();

    public override string ToString() => $"{Time:O} {Type} {Action} {Id} (name={Name})";
}

/// <summary>
/// The append-only events log of a state root: one JSON object per line. Each event is one write(2) of a whole line
/// to a file opened with O_APPEND, so lines of concurrent sessions never interleave. Readers skip a line that is
/// not whole (a writer killed mid-line) instead of failing.
/// </summary>
public sealed class EventLog(string path)
{
    private sealed record Line(string time, string type, string action, string id, string name, Dictionary<string, string>? attributes);

    public string Path { get; } = path;

    public void Append(ContainerEvent e)
    {
        var line = new Line(e.Time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture), e.Type, e.Action, e.Id, e.Name,
            e.Attributes.Count > 0 ? new Dictionary<string, string>(e.Attributes) : null);
        byte[] bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(line) + "\n");
        using var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
        stream.Write(bytes);
    }

    /// <summary>Events from byte <paramref name="offset"/> on; <paramref name="next"/> is where the last whole line ended.</summary>
    public IReadOnlyList<ContainerEvent> ReadFrom(long offset, out long next)
    {
        next = offset;
        var result = new List<ContainerEvent>();
        if (!File.Exists(Path)) return result;
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (offset > stream.Length) offset = 0; // the log was replaced: start over
        stream.Seek(offset, SeekOrigin.Begin);
        byte[] rest = new byte[stream.Length - offset];
        stream.ReadExactly(rest);
        int start = 0;
        for (int i = 0; i < rest.Length; i++)
        {
            if (rest[i] != (byte)'\n') continue;
            if (Parse(rest.AsSpan(start, i - start)) is { } e) result.Add(e);
            start = i + 1;
        }
        next = offset + start; // a line still being written is read next time
        return result;
    }

    private static ContainerEvent? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var l = JsonSerializer.Deserialize<Line>(json);
            if (l is null) return null;
            return new ContainerEvent
            {
                Time = DateTime.Parse(l.time, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                Type = l.type, Action = l.action, Id = l.id, Name = l.name,
                Attributes = l.attributes ?? new Dictionary<string, string>(),
            };
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return null;
        }
    }
}
