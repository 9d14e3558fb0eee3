using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Volumes;

/// <summary>
/// Parses what a user writes to mount things into a container: docker's -v forms (host path, volume name, bare
/// container path for an anonymous volume), the explicit --mount CSV form, and the local driver's --opt keys.
/// Pure text rules, so they are unit-tested and every front end refuses the same input the same way.
/// </summary>
public static partial class VolumeSpec
{
    /// <summary>docker's rule for local volume names: two or more of [a-zA-Z0-9_.-], the first alphanumeric.</summary>
    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")]
    private static partial Regex NamePattern();

    public static bool IsValidName(string name) => NamePattern().IsMatch(name) && name.Length <= 255;

    public static void ValidateName(string name)
    {
        // A name becomes a directory under <root>/volumes: anything but the pattern (../x, a/b, .x) is refused here.
        if (!IsValidName(name))
            throw new EngineException("InvalidVolumeName", ErrorKind.InvalidArgument, name,
                $"'{name}' is not a valid volume name: use two or more of [a-zA-Z0-9_.-], starting with a letter or digit.");
    }

    /// <summary>The -Volume forms: /host:/ctr[:opts] (bind), name:/ctr[:opts] (named volume), /ctr (anonymous volume).</summary>
    public static IReadOnlyList<ContainerMount> ParseVolumeArguments(IEnumerable<string> volumes)
    {
        var result = new List<ContainerMount>();
        foreach (string v in volumes)
        {
            string[] parts = v.Split(':');
            if (parts.Length == 1)
            {
                ValidateTarget(v, v, "InvalidVolume");
                result.Add(new ContainerMount("volume", "", Clean(v), false));
                continue;
            }
            if (parts.Length > 3 || parts[0].Length == 0 || !parts[1].StartsWith('/'))
                throw new EngineException("InvalidVolume", ErrorKind.InvalidArgument, v,
                    $"'{v}' is not a valid -Volume: use /host/path:/container/path[:ro], name:/container/path[:ro] or /container/path.");
            bool isVolume = !parts[0].StartsWith('/');
            if (isVolume && !IsValidName(parts[0]))
                throw new EngineException("InvalidVolume", ErrorKind.InvalidArgument, v,
                    $"'{parts[0]}' in -Volume '{v}' is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+).");
            ValidateTarget(parts[1], v, "InvalidVolume");
            bool ro = false, nocopy = false;
            if (parts.Length == 3)
            {
                foreach (string opt in parts[2].Split(','))
                {
                    if (opt == "ro") ro = true;
                    else if (opt == "nocopy" && isVolume) nocopy = true;
                    else if (opt != "rw")
                        throw new EngineException("InvalidVolume", ErrorKind.InvalidArgument, v,
                            $"Unknown -Volume option '{opt}' (use ro or rw{(isVolume ? ", nocopy" : "")}).");
                }
            }
            // A host path is cleaned as text (. and .. segments, doubled slashes), as docker does, so the directory a
            // missing source is made as and the path the runtime mounts are one path.
            result.Add(isVolume
                ? new ContainerMount("volume", parts[0], Clean(parts[1]), ro, nocopy ? "nocopy" : "")
                : new ContainerMount("bind", Path.TrimEndingDirectorySeparator(Path.GetFullPath(parts[0])), Clean(parts[1]), ro));
        }
        return result;
    }

    /// <summary>
    /// docker's --mount CSV: type=bind|volume|tmpfs (volume when omitted), source|src, target|destination|dst,
    /// readonly|ro[=true|false], volume-nocopy, tmpfs-size, tmpfs-mode. Any other key is refused.
    /// </summary>
    public static ContainerMount ParseMount(string text)
    {
        string type = "volume", source = "", target = "";
        bool ro = false, nocopy = false;
        string? tmpfsSize = null, tmpfsMode = null;
        bool sawSource = false;
        foreach (string field in SplitCsv(text, text))
        {
            int eq = field.IndexOf('=');
            string key = (eq < 0 ? field : field[..eq]).Trim().ToLowerInvariant();
            string? value = eq < 0 ? null : field[(eq + 1)..];
            string Need() => value is { Length: > 0 } ? value
                : throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text, $"'{key}' in -Mount '{text}' needs a value ({key}=...).");
            switch (key)
            {
                case "type": type = Need(); break;
                case "source" or "src": source = Need(); sawSource = true; break;
                case "target" or "destination" or "dst": target = Need(); break;
                case "readonly" or "ro": ro = ParseBool(value, text, key); break;
                case "volume-nocopy": nocopy = ParseBool(value, text, key); break;
                case "tmpfs-size": tmpfsSize = Need(); break;
                case "tmpfs-mode": tmpfsMode = Need(); break;
                default:
                    throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text,
                        $"Unknown key '{key}' in -Mount '{text}' (known: type, source, target, readonly, volume-nocopy, tmpfs-size, tmpfs-mode).");
            }
        }
        if (target.Length == 0) throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text, $"-Mount '{text}' has no target=/path.");
        ValidateTarget(target, text, "InvalidMount");
        target = Clean(target);
        if (type != "tmpfs" && (tmpfsSize is not null || tmpfsMode is not null))
            throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text, $"tmpfs-size and tmpfs-mode are for type=tmpfs, not type={type}.");
        if (type != "volume" && nocopy)
            throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text, $"volume-nocopy is for type=volume, not type={type}.");
        switch (type)
        {
            case "bind":
                if (!source.StartsWith('/'))
                    throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text, $"A bind -Mount needs source=/absolute/host/path ('{text}').");
                return new ContainerMount("bind", Path.TrimEndingDirectorySeparator(Path.GetFullPath(source)), target, ro, "nocreate");
            case "volume":
                if (sawSource && !IsValidName(source))
                    throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text, $"'{source}' in -Mount '{text}' is not a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+).");
                return new ContainerMount("volume", source, target, ro, nocopy ? "nocopy" : "");
            case "tmpfs":
                if (sawSource)
                    throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text, "A tmpfs -Mount takes no source.");
                var opts = new List<string> { "noexec", "nosuid", "nodev" };
                if (ro) opts.Add("ro");
                if (tmpfsSize is not null)
                {
                    if (!ByteSize.TryParse(tmpfsSize, false, out long size, out string? error))
                        throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text, $"tmpfs-size '{tmpfsSize}': {error}");
                    if (size <= 0) throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text, $"tmpfs-size must be more than 0 ('{tmpfsSize}').");
                    opts.Add("size=" + size.ToString(CultureInfo.InvariantCulture));
                }
                if (tmpfsMode is not null)
                {
                    if (!IsOctalMode(tmpfsMode))
                        throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text, $"tmpfs-mode must be an octal mode such as 1777 ('{tmpfsMode}').");
                    opts.Add("mode=" + tmpfsMode);
                }
                return new ContainerMount("tmpfs", "tmpfs", target, ro, string.Join(',', opts));
            default:
                throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text, $"Unknown mount type '{type}' in -Mount '{text}' (use bind, volume or tmpfs).");
        }
    }

    public static IReadOnlyList<ContainerMount> ParseMountArguments(IEnumerable<string> mounts) => mounts.Select(ParseMount).ToList();

    /// <summary>Every mount of a container in order (-Volume, -Mount, -Tmpfs); one destination may be mounted once.</summary>
    public static IReadOnlyList<ContainerMount> All(ContainerOptions o)
    {
        var all = ParseVolumeArguments(o.Volumes).Concat(ParseMountArguments(o.Mounts)).Concat(RuntimeSpecBuilder.ParseTmpfs(o.Tmpfs)).ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in all)
            if (!seen.Add(m.Destination))
                throw new EngineException("DuplicateMountPoint", ErrorKind.InvalidArgument, m.Destination, $"Duplicate mount point: {m.Destination}.");
        return all;
    }

    private static void ValidateTarget(string target, string whole, string errorId)
    {
        if (!target.StartsWith('/'))
            throw new EngineException(errorId, ErrorKind.InvalidArgument, whole, $"'{target}' in '{whole}' must be an absolute container path.");
        if (Clean(target) == "/")
            throw new EngineException(errorId, ErrorKind.InvalidArgument, whole, "A mount cannot replace the container's root.");
    }

    /// <summary>A container path cleaned as text (the runtime resolves it inside the root).</summary>
    private static string Clean(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));

    private static bool IsOctalMode(string s) => s.Length is > 0 and <= 4 && s.All(c => c is >= '0' and <= '7');

    private static bool ParseBool(string? value, string text, string key) => value?.ToLowerInvariant() switch
    {
        null or "" or "true" or "1" => true,
        "false" or "0" => false,
        _ => throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, text, $"'{key}={value}' in -Mount '{text}': use true or false."),
    };

    /// <summary>One CSV record (RFC 4180 quoting, as docker's encoding/csv reader): a field may be "quoted, with commas".</summary>
    public static List<string> SplitCsv(string text, object target)
    {
        var fields = new List<string>();
        var cur = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { cur.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else cur.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(cur.ToString()); cur.Clear(); }
            else cur.Append(c);
        }
        if (quoted) throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, target, $"Unterminated quote in '{text}'.");
        fields.Add(cur.ToString());
        if (fields.Any(f => f.Length == 0)) throw new EngineException("InvalidMount", ErrorKind.InvalidArgument, target, $"Empty field in '{text}'.");
        return fields;
    }
}
