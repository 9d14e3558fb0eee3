using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Containers;

/// <summary>The container's healthcheck (docker run --health-cmd, --health-interval, …, --no-healthcheck).</summary>
public sealed partial class ContainerOptions
{
    /// <summary>What was given at creation, in docker's container-config form: null or an empty Test inherit the image's
    /// HEALTHCHECK (field by field for the timings), ["NONE"] turns it off.</summary>
    public HealthConfig? Healthcheck { get; set; }

    public static readonly TimeSpan DefaultHealthInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultHealthTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultHealthStartInterval = TimeSpan.FromSeconds(5);
    public const int DefaultHealthRetries = 3;

    /// <summary>
    /// The creation parameters as a healthcheck (null when none was given). One command item is a shell command
    /// (CMD-SHELL), several are the exec form (CMD); an array that starts with CMD, CMD-SHELL or NONE is taken as docker's
    /// Test as it is. Zero or negative timings are refused (docker's 0 "inherit" is what leaving a parameter out means).
    /// </summary>
    public static HealthConfig? HealthFromParameters(string[]? command, TimeSpan? interval, TimeSpan? timeout, TimeSpan? startPeriod,
        TimeSpan? startInterval, int? retries, bool noHealthcheck)
    {
        bool any = command is not null || interval is not null || timeout is not null || startPeriod is not null || startInterval is not null || retries is not null;
        if (noHealthcheck)
        {
            if (any)
                throw new EngineException("HealthcheckConflict", ErrorKind.InvalidArgument, "NoHealthcheck",
                    "-NoHealthcheck conflicts with the -Health* parameters: give one or the other.");
            return new HealthConfig { Test = ["NONE"] };
        }
        if (!any) return null;
        var config = new HealthConfig
        {
            Interval = Nanoseconds("HealthInterval", interval, zeroAllowed: false),
            Timeout = Nanoseconds("HealthTimeout", timeout, zeroAllowed: false),
            StartPeriod = Nanoseconds("HealthStartPeriod", startPeriod, zeroAllowed: true),
            StartInterval = Nanoseconds("HealthStartInterval", startInterval, zeroAllowed: false),
        };
        if (retries is int r)
        {
            if (r < 1)
                throw new EngineException("InvalidHealthcheck", ErrorKind.InvalidArgument, r, $"-HealthRetries {r}: give at least 1 (consecutive failures before the container is unhealthy).");
            config.Retries = r;
        }
        if (command is not null)
        {
            if (command.Length == 0 || command.All(string.IsNullOrWhiteSpace))
                throw new EngineException("InvalidHealthcheck", ErrorKind.InvalidArgument, "HealthCommand", "-HealthCommand is empty: give the command that checks the container.");
            config.Test = command[0] is "CMD" or "CMD-SHELL" or "NONE" ? command.ToList()
                : command.Length == 1 ? ["CMD-SHELL", command[0]] : ["CMD", .. command];
        }
        return config;
    }

    private static long Nanoseconds(string parameter, TimeSpan? value, bool zeroAllowed)
    {
        if (value is not TimeSpan d) return 0;
        if (d < TimeSpan.Zero || (d == TimeSpan.Zero && !zeroAllowed))
            throw new EngineException("InvalidHealthcheck", ErrorKind.InvalidArgument, d,
                $"-{parameter} {Duration.Format(d)}: must be more than 0{(zeroAllowed ? " or 0" : "")} (for example 30s or 500ms).");
        if (d < TimeSpan.FromMilliseconds(1) && d != TimeSpan.Zero)
            throw new EngineException("InvalidHealthcheck", ErrorKind.InvalidArgument, d, $"-{parameter} {Duration.Format(d)}: cannot be less than 1ms (docker's rule).");
        return d.Ticks * HealthConfig.NanosecondsPerTick;
    }

    /// <summary>Checks a healthcheck as docker's daemon does (1 ms at least, no negative values, a known test).</summary>
    public static void ValidateHealth(HealthConfig? h, string source)
    {
        if (h is null) return;
        foreach (var (name, ns) in new[] { ("Interval", h.Interval), ("Timeout", h.Timeout), ("StartPeriod", h.StartPeriod), ("StartInterval", h.StartInterval) })
        {
            if (ns < 0)
                throw new EngineException("InvalidHealthcheck", ErrorKind.InvalidArgument, ns, $"{name} in the healthcheck of {source} cannot be negative.");
            if (ns is > 0 and < 1_000_000)
                throw new EngineException("InvalidHealthcheck", ErrorKind.InvalidArgument, ns, $"{name} in the healthcheck of {source} cannot be less than 1ms.");
        }
        if (h.Retries < 0)
            throw new EngineException("InvalidHealthcheck", ErrorKind.InvalidArgument, h.Retries, $"Retries in the healthcheck of {source} cannot be negative.");
        if (h.Test is not { Count: > 0 } test) return;
        bool valid = test[0] switch
        {
            "NONE" => test.Count == 1,
            "CMD" => test.Count > 1 && test[1].Length > 0,
            "CMD-SHELL" => test.Count == 2 && !string.IsNullOrWhiteSpace(test[1]),
            _ => false,
        };
        if (!valid)
            throw new EngineException("InvalidHealthcheck", ErrorKind.InvalidArgument, string.Join(' ', test),
                $"The healthcheck test of {source} ({string.Join(' ', test)}) is not [\"NONE\"], [\"CMD\", arg…] or [\"CMD-SHELL\", command].");
    }

    /// <summary>
    /// The healthcheck a container runs: the container's own fields over the image's (docker's merge: an empty Test
    /// and zero timings inherit), docker's defaults for what neither gives; null when there is none or it is NONE.
    /// </summary>
    public static HealthConfig? EffectiveHealthcheck(HealthConfig? container, HealthConfig? image)
    {
        var merged = container?.Clone() ?? new HealthConfig();
        if (image is not null)
        {
            if (merged.Test is not { Count: > 0 }) merged.Test = image.Test?.ToList();
            if (merged.Interval == 0) merged.Interval = image.Interval;
            if (merged.Timeout == 0) merged.Timeout = image.Timeout;
            if (merged.StartPeriod == 0) merged.StartPeriod = image.StartPeriod;
            if (merged.StartInterval == 0) merged.StartInterval = image.StartInterval;
            if (merged.Retries == 0) merged.Retries = image.Retries;
        }
        if (merged.Test is not { Count: > 0 } test || test[0] == "NONE") return null;
        if (merged.Interval == 0) merged.Interval = DefaultHealthInterval.Ticks * HealthConfig.NanosecondsPerTick;
        if (merged.Timeout == 0) merged.Timeout = DefaultHealthTimeout.Ticks * HealthConfig.NanosecondsPerTick;
        if (merged.StartInterval == 0) merged.StartInterval = DefaultHealthStartInterval.Ticks * HealthConfig.NanosecondsPerTick;
        if (merged.Retries == 0) merged.Retries = DefaultHealthRetries;
        return merged;
    }

    /// <summary>The process arguments of a healthcheck's test: the exec form as it is, a shell command under /bin/sh -c.</summary>
    public static string[] HealthArguments(HealthConfig effective) =>
        effective.Test![0] == "CMD-SHELL" ? ["/bin/sh", "-c", effective.Test[1]] : effective.Test.Skip(1).ToArray();
}
