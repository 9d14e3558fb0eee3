using System.Text.Json;
using System.Text.Json.Serialization;

namespace PSContainer.Engine.Containers;

/// <summary>One probe of a healthcheck (docker inspect's State.Health.Log entry).</summary>
public sealed class HealthLogEntry
{
    [JsonPropertyName("Start")] public DateTime Start { get; init; }
    [JsonPropertyName("End")] public DateTime End { get; init; }
    /// <summary>0 healthy; anything else a failure; -1 when the probe passed its timeout or could not run.</summary>
    [JsonPropertyName("ExitCode")] public int ExitCode { get; init; }
    /// <summary>stdout and stderr of the probe, its first 4096 bytes.</summary>
    [JsonPropertyName("Output")] public string Output { get; init; } = "";

    public override string ToString() => $"{Start:O} exit {ExitCode}: {Output.TrimEnd()}";
}

/// <summary>A container's health as its monitor last wrote it (docker's State.Health): starting, healthy or unhealthy.</summary>
public sealed class ContainerHealth
{
    [JsonPropertyName("Status")] public string Status { get; init; } = "";
    /// <summary>Consecutive failures counted so far (failures in the start period are not).</summary>
    [JsonPropertyName("FailingStreak")] public int FailingStreak { get; init; }
    /// <summary>The last five probes, oldest first.</summary>
    [JsonPropertyName("Log")] public HealthLogEntry[] Log { get; init; } = [];

    public override string ToString() => Status;

    /// <summary>
    /// Reads the status file the monitor writes (containers/&lt;id&gt;/health.json, replaced whole by rename). Null when
    /// there is none (no healthcheck, or not started yet) or when it cannot be read as one.
    /// </summary>
    public static ContainerHealth? ReadFile(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        return Parse(bytes);
    }

    public static ContainerHealth? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var health = JsonSerializer.Deserialize<ContainerHealth>(json);
            return health is { Status: "starting" or "healthy" or "unhealthy" } ? health : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
