using System.Text;
using PSContainer.Engine.Volumes;

namespace PSContainer.Engine.Containers.Providers;

/// <summary>
/// docker --volumes-from, resolved once at creation as docker's daemon does: the named and anonymous volumes and the
/// binds of another container (existing or stopped) are mounted at the same paths. Docker's rules: a mode of ro makes
/// every inherited mount read-only, rw (or none) keeps each one's own mode (a read-only mount is never made
/// writable); the image's content is not copied into an inherited volume (docker sets CopyData false); a path the
/// new container mounts itself (-Volume, -Mount, -Tmpfs) wins; of two sources with the same path the later wins; a
/// tmpfs is the other container's own and is not shared.
/// Part of the volume provider; it makes no host object (the mounts it adds are made at start like any other).
/// </summary>
public static class VolumesFrom
{
    /// <summary>Parses CONTAINER[:ro|:rw]; the container part is checked by resolving it.</summary>
    public static (string Container, bool? ReadOnly) Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new EngineException("InvalidVolumesFrom", ErrorKind.InvalidArgument, text, "-VolumesFrom needs a container name or id, optionally with :ro or :rw.");
        string[] parts = text.Split(':');
        if (parts.Length > 2 || parts[0].Length == 0)
            throw new EngineException("InvalidVolumesFrom", ErrorKind.InvalidArgument, text, $"'{text}' is not a valid -VolumesFrom: use CONTAINER, CONTAINER:ro or CONTAINER:rw.");
        if (parts.Length == 1) return (parts[0], null);
        return parts[1] switch
        {
            "ro" => (parts[0], true),
            "rw" => (parts[0], false),
            _ => throw new EngineException("InvalidVolumesFrom", ErrorKind.InvalidArgument, text, $"Unknown mode '{parts[1]}' in -VolumesFrom '{text}': use ro or rw."),
        };
    }

    /// <summary>Adds the mounts of the -VolumesFrom containers to the options (before the record is written);
    /// <paramref name="optionsOf"/> resolves a container's name or id to its options.</summary>
    public static void Expand(ContainerOptions o, Func<string, ContainerOptions> optionsOf)
    {
        if (o.VolumesFrom.Count == 0) return;
        var own = VolumeSpec.All(o).Select(m => m.Destination).ToHashSet(StringComparer.Ordinal);
        var inherited = new Dictionary<string, string>(StringComparer.Ordinal); // destination -> -Mount CSV, later wins
        var fromVolume = new Dictionary<string, string>(StringComparer.Ordinal); // destination -> -Volume form
        foreach (string entry in o.VolumesFrom)
        {
            var (name, readOnly) = Parse(entry);
            foreach (var m in VolumeSpec.All(optionsOf(name)))
            {
                if (m.Type is not ("volume" or "bind") || own.Contains(m.Destination)) continue;
                bool ro = m.ReadOnly || readOnly == true;
                inherited.Remove(m.Destination);
                fromVolume.Remove(m.Destination);
                if (m.Type == "bind" && m.Options != "nocreate" && !m.Source.Contains(':') && !m.Destination.Contains(':'))
                    // A -Volume bind makes a missing host directory at start; kept in that form so it still does.
                    fromVolume[m.Destination] = $"{m.Source}:{m.Destination}{(ro ? ":ro" : "")}";
                else
                    inherited[m.Destination] = m.Type == "volume"
                        ? Csv("type=volume", "source=" + m.Source, "target=" + m.Destination, "volume-nocopy", ro ? "readonly" : null)
                        : Csv("type=bind", "source=" + m.Source, "target=" + m.Destination, ro ? "readonly" : null);
            }
        }
        o.Volumes.AddRange(fromVolume.Values);
        o.Mounts.AddRange(inherited.Values);
    }

    /// <summary>One -Mount CSV record; a field with a comma or quote is quoted (RFC 4180, as VolumeSpec.SplitCsv reads it).</summary>
    private static string Csv(params string?[] fields)
    {
        var sb = new StringBuilder();
        foreach (string? f in fields)
        {
            if (f is null) continue;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(f.Contains(',') || f.Contains('"') ? "\"" + f.Replace("\"", "\"\"") + "\"" : f);
        }
        return sb.ToString();
    }
}
