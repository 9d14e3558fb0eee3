namespace PSContainer.Engine.Build;

/// <summary>
/// One RUN --mount=… as BuildKit reads it: comma-separated key=value fields (a bare key is true), type bind by
/// default, target (dst, destination), source (src), from, id, rw (readwrite), ro (readonly), required, and
/// sharing=shared|locked for a cache (locked: one step at a time uses it). A secret's id defaults to its target's
/// file name and its target to /run/secrets/ID. Any other field (mode, uid, gid, size, env, sharing=private, and from
/// or source on a cache) is refused by name: a mount made without what it asked for would be a silent drop.
/// </summary>
public sealed record RunMountSpec(string Type, string Target, string? Source, string? From, string? Id, bool ReadWrite, bool Required)
{
    /// <summary>A cache mount used by one step at a time (sharing=locked) rather than by all at once.</summary>
    public bool Locked { get; init; }

    /// <summary>A cache mount the step may only read (ro, readonly).</summary>
    public bool ReadOnly { get; init; }

    public static RunMountSpec Parse(string expanded, string workingDir, int line)
    {
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string part in expanded.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            fields[eq < 0 ? part.Trim() : part[..eq].Trim()] = eq < 0 ? "true" : part[(eq + 1)..];
        }
        foreach (string key in fields.Keys)
            if (!KnownFields.Contains(key))
                throw new DockerfileException("UnsupportedMount", line, $"--mount option '{key}' is not supported (type, target, source, from, id, rw, ro, required and sharing=shared are).", ErrorKind.InvalidArgument);
        string sharing = (Field(fields, "sharing") ?? "shared").ToLowerInvariant();
        if (sharing is not ("shared" or "locked"))
            throw new DockerfileException("UnsupportedMount", line, $"--mount sharing={sharing} is not supported (shared and locked are).", ErrorKind.InvalidArgument);
        string type = fields.GetValueOrDefault("type", "bind").ToLowerInvariant();
        if (type == "cache" && Field(fields, "from", "source", "src") is not null)
            throw new DockerfileException("UnsupportedMount", line, "--mount=type=cache with from= or source= (a cache seeded from a stage) is not supported.", ErrorKind.InvalidArgument);
        if (type == "ssh")
            throw new DockerfileException("UnsupportedMount", line,
                "--mount=type=ssh is not supported: this builder has no SSH agent to forward. Fetch what the step needs before the build (into the context) or use --mount=type=secret.", ErrorKind.NotInstalled);
        string? target = Field(fields, "target", "dst", "destination");
        string? id = Field(fields, "id");
        if (type == "secret")
        {
            if (id is null && target is null) throw new DockerfileException("InvalidMount", line, $"--mount={expanded} needs id=ID or target=PATH.");
            id ??= target!.TrimEnd('/').Split('/')[^1];
            target ??= "/run/secrets/" + id;
        }
        if (target is null) throw new DockerfileException("InvalidMount", line, $"--mount={expanded} needs target=PATH.");
        if (!target.StartsWith('/')) target = workingDir.TrimEnd('/') + "/" + target;
        bool rw = Flag(fields, "rw") || Flag(fields, "readwrite");
        bool required = Flag(fields, "required");
        return new RunMountSpec(type, target, Field(fields, "source", "src"), Field(fields, "from"), id, rw, required)
        {
            Locked = sharing == "locked",
            ReadOnly = Flag(fields, "ro") || Flag(fields, "readonly"),
        };
    }

    private static readonly HashSet<string> KnownFields = new(StringComparer.OrdinalIgnoreCase)
    {
        "type", "target", "dst", "destination", "source", "src", "from", "id", "rw", "readwrite", "ro", "readonly", "required", "sharing",
    };

    private static string? Field(Dictionary<string, string> fields, params string[] names)
    {
        foreach (string n in names)
            if (fields.TryGetValue(n, out string? v)) return v;
        return null;
    }

    private static bool Flag(Dictionary<string, string> fields, string name) =>
        fields.TryGetValue(name, out string? v) && !v.Equals("false", StringComparison.OrdinalIgnoreCase) && v != "0";
}
