using System.Text.Json.Serialization;

namespace PSContainer.Engine.Oci;

/// <summary>
/// docker's healthcheck (image config "Healthcheck", container config the same): Test is [] (inherit the image's),
/// ["NONE"] (none), ["CMD", arg…] (exec form) or ["CMD-SHELL", command] (run with /bin/sh -c); durations are in
/// nanoseconds and 0 means "inherit, else docker's default", as is Retries 0.
/// </summary>
public sealed class HealthConfig
{
    [JsonPropertyName("Test"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<string>? Test { get; set; }
    [JsonPropertyName("Interval"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long Interval { get; set; }
    [JsonPropertyName("Timeout"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long Timeout { get; set; }
    [JsonPropertyName("StartPeriod"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long StartPeriod { get; set; }
    [JsonPropertyName("StartInterval"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long StartInterval { get; set; }
    [JsonPropertyName("Retries"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int Retries { get; set; }

    /// <summary>Nanoseconds per tick (TimeSpan's unit is 100 ns).</summary>
    public const long NanosecondsPerTick = 100;

    public HealthConfig Clone() => new()
    {
        Test = Test?.ToList(), Interval = Interval, Timeout = Timeout, StartPeriod = StartPeriod, StartInterval = StartInterval, Retries = Retries,
    };
}
