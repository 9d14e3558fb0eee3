using System.Text.Json;
using System.Text.Json.Nodes;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Oci;

namespace PSContainer.Api;

/// <summary>
/// A healthcheck between docker's JSON and the engine: the create body's Healthcheck (docker's HealthConfig, timings in
/// nanoseconds, which ContainerOptions keeps as it is) and inspect's Config.Healthcheck and State.Health.
/// </summary>
public static class HealthJson
{
    /// <summary>The create body's Healthcheck; null for an absent or all-zero one (the image's applies). StartInterval
    /// came with 1.44: an older request's is ignored, as dockerd does.</summary>
    public static HealthConfig? Read(JsonElement v)
    {
        if (CreateRequestMapper.IsZero(v)) return null;
        if (v.ValueKind != JsonValueKind.Object) throw ApiException.BadParameter($"Healthcheck: expected an object, got {v.GetRawText()}");
        HealthConfig config;
        try
        {
            config = v.Deserialize<HealthConfig>() ?? new HealthConfig();
        }
        catch (JsonException e)
        {
            throw ApiException.BadParameter("Healthcheck: " + e.Message);
        }
        if (!ApiVersion.RequestedAtLeast(1, 44)) config.StartInterval = 0;
        foreach (var (name, value) in new[] { ("Interval", config.Interval), ("Timeout", config.Timeout), ("StartPeriod", config.StartPeriod), ("StartInterval", config.StartInterval) })
            if (value < 0) throw ApiException.BadParameter($"Healthcheck.{name} can't be negative");
        if (config.Retries < 0) throw ApiException.BadParameter("Healthcheck.Retries can't be negative");
        return config;
    }

    /// <summary>Config.Healthcheck of inspect: the container's own, else the image's, else absent (null).</summary>
    public static JsonNode? Config(HealthConfig? own, HealthConfig? image)
    {
        var h = own is { Test.Count: > 0 } ? own : image;
        if (h is null) return null;
        if (!ApiVersion.RequestedAtLeast(1, 44)) h = new HealthConfig { Test = h.Test, Interval = h.Interval, Timeout = h.Timeout, StartPeriod = h.StartPeriod, Retries = h.Retries };
        return JsonSerializer.SerializeToNode(h);
    }

    /// <summary>State.Health of inspect (Status, FailingStreak, Log), null without a healthcheck.</summary>
    public static JsonNode? State(ContainerHealth? health) => health is null ? null : JsonSerializer.SerializeToNode(health);
}
