using System.Globalization;

namespace PSContainer.Engine.Containers;

public enum RestartMode { No, OnFailure, Always, UnlessStopped }

/// <summary>
/// A restart policy and docker's rules for it (moby's restartmanager): when an exit leads to a restart, and how long
/// to wait before it.
/// </summary>
public sealed record RestartPolicySpec(RestartMode Mode, int MaximumRetryCount)
{
    public static readonly RestartPolicySpec None = new(RestartMode.No, 0);

    /// <summary>The first delay; each restart of a container that ran less than <see cref="ResetAfter"/> doubles it.</summary>
    public static readonly TimeSpan InitialDelay = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaximumDelay = TimeSpan.FromMinutes(1);
    /// <summary>A run at least this long counts as healthy: the next delay starts again from the first.</summary>
    public static readonly TimeSpan ResetAfter = TimeSpan.FromSeconds(10);

    public bool IsNone => Mode == RestartMode.No;

    /// <summary>no, on-failure, on-failure:N, always, unless-stopped (docker's spellings); null or empty is no.</summary>
    public static RestartPolicySpec Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return None;
        string name = text.Trim(), count = "";
        int colon = name.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            count = name[(colon + 1)..];
            name = name[..colon];
        }
        var mode = name.ToLowerInvariant() switch
        {
            "no" => RestartMode.No,
            "on-failure" => RestartMode.OnFailure,
            "always" => RestartMode.Always,
            "unless-stopped" => RestartMode.UnlessStopped,
            _ => throw Invalid(text, $"invalid restart policy '{text}': use no, on-failure[:N], always or unless-stopped."),
        };
        if (colon < 0) return new RestartPolicySpec(mode, 0);
        if (mode != RestartMode.OnFailure)
            throw Invalid(text, $"invalid restart policy '{text}': a maximum retry count can only be used with on-failure.");
        if (!int.TryParse(count, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n))
            throw Invalid(text, $"invalid restart policy '{text}': the maximum retry count '{count}' is not a number.");
        if (n < 0)
            throw Invalid(text, $"invalid restart policy '{text}': the maximum retry count cannot be negative.");
        return new RestartPolicySpec(mode, n);
    }

    private static EngineException Invalid(string text, string message) =>
        new("InvalidRestartPolicy", ErrorKind.InvalidArgument, text, message);

    /// <summary>
    /// Whether an exit leads to a restart. A stop or kill by the user cancels every policy until the next start
    /// (docker's ExitOnNext); on-failure restarts a non-zero exit at most MaximumRetryCount times (0: no limit).
    /// </summary>
    public bool ShouldRestart(int exitCode, bool stoppedByUser, int restartCount) => !stoppedByUser && Mode switch
    {
        RestartMode.Always or RestartMode.UnlessStopped => true,
        RestartMode.OnFailure => exitCode != 0 && (MaximumRetryCount == 0 || restartCount < MaximumRetryCount),
        _ => false,
    };

    /// <summary>
    /// Whether a container this policy governs is started when the host comes back (docker's daemon start):
    /// always even if the user had stopped it, unless-stopped only if the user had not, on-failure and no never.
    /// </summary>
    public bool StartsAtBoot(bool stoppedByUser) => Mode switch
    {
        RestartMode.Always => true,
        RestartMode.UnlessStopped => !stoppedByUser,
        _ => false,
    };

    /// <summary>Docker's backoff: 100 ms, doubled for each quick exit, capped at a minute, back to 100 ms after a run of 10 s.</summary>
    public static TimeSpan NextDelay(TimeSpan previous, TimeSpan ranFor)
    {
        if (ranFor >= ResetAfter || previous <= TimeSpan.Zero) return InitialDelay;
        var next = previous * 2;
        return next > MaximumDelay ? MaximumDelay : next;
    }

    public override string ToString() => Mode switch
    {
        RestartMode.OnFailure => MaximumRetryCount > 0 ? $"on-failure:{MaximumRetryCount.ToString(CultureInfo.InvariantCulture)}" : "on-failure",
        RestartMode.Always => "always",
        RestartMode.UnlessStopped => "unless-stopped",
        _ => "no",
    };
}
