using System.Text.Json.Nodes;
using PSContainer.Engine.Images;
using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Build;

/// <summary>
/// Where a stage is while it builds: its layers, its image config (the whole config file, run settings under
/// "config"), history not yet written into an image, its cache key so far, its ARGs, its SHELL, and the image in
/// the store that matches all of this (null while metadata steps have changed it since the last image).
/// </summary>
public sealed class StageState
{
    public required BuildStage Stage { get; init; }
    public List<ImageLayerRecord> Layers { get; set; } = [];
    public JsonObject Config { get; set; } = new();
    public List<HistoryEntry> PendingHistory { get; } = [];
    public string CacheKey { get; set; } = "";
    public Dictionary<string, string?> Args { get; } = new(StringComparer.Ordinal);
    public List<string> Shell { get; set; } = ["/bin/sh", "-c"];
    public string? ImageId { get; set; }
    /// <summary>A CMD of this stage set a command: a later ENTRYPOINT keeps it (docker resets only the base image's CMD).</summary>
    public bool CmdSet { get; set; }
    /// <summary>The time history entries get: SOURCE_DATE_EPOCH when the build gives it (reproducible image ids), else now.</summary>
    public DateTimeOffset? FixedTime { get; init; }
    public DateTimeOffset Now => FixedTime ?? DateTimeOffset.UtcNow;

    public JsonObject Run
    {
        get
        {
            if (Config["config"] is not JsonObject run) Config["config"] = run = new JsonObject();
            return run;
        }
    }

    public List<string> Env => (Run["Env"] as JsonArray)?.Select(e => e!.GetValue<string>()).ToList() ?? [];

    /// <summary>Variables for expansion: ENV wins over ARG, as in Docker.</summary>
    public string? Lookup(string name)
    {
        foreach (string e in Env)
            if (e.StartsWith(name + "=", StringComparison.Ordinal)) return e[(name.Length + 1)..];
        return Args.TryGetValue(name, out var v) ? v : null;
    }

    public string WorkingDir => Run["WorkingDir"]?.GetValue<string>() is { Length: > 0 } w ? w : "/";

    public string User => Run["User"]?.GetValue<string>() ?? "";

    /// <summary>Sets a variable where it stands (docker keeps the order of Env: a new value replaces the old in place).</summary>
    public void SetEnv(string key, string value)
    {
        var env = Env;
        int at = env.FindIndex(e => e == key || e.StartsWith(key + "=", StringComparison.Ordinal));
        if (at >= 0) env[at] = key + "=" + value;
        else env.Add(key + "=" + value);
        Run["Env"] = new JsonArray(env.Select(e => (JsonNode)JsonValue.Create(e)!).ToArray());
    }

    /// <summary>Adopts an image of the store (a FROM, or a step found in the cache) as the stage's current state.</summary>
    public void Adopt(ImageStore images, ContainerImage image)
    {
        Layers = images.LayersOf(image.Id).OrderBy(l => l.Position).ToList();
        Config = JsonNode.Parse(images.Blobs.ReadAll(Digest.Parse(image.Id)))!.AsObject();
        PendingHistory.Clear();
        ImageId = image.Id;
    }

    /// <summary>A metadata step: the config changes, no layer, a history entry with empty_layer.</summary>
    public void Changed(string createdBy)
    {
        PendingHistory.Add(new HistoryEntry { Created = Now, CreatedBy = createdBy, Comment = "buildkit.dockerfile.v0", EmptyLayer = true });
        ImageId = null;
    }
}
