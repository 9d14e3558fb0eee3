using System.Globalization;

namespace PSContainer.Engine.Containers;

/// <summary>How Stop-Container stops this container when not told otherwise (docker run --stop-signal, --stop-timeout).</summary>
public sealed partial class ContainerOptions
{
    /// <summary>The signal a stop sends first; null: the image's StopSignal, else SIGTERM.</summary>
    public string? StopSignal { get; set; }

    /// <summary>Seconds a stop waits before SIGKILL; null: 10, docker's default.</summary>
    public int? StopTimeout { get; set; }

    public const int DefaultStopTimeout = 10;

    private static readonly string[] SignalNames =
    [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
        "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL",
        "PWR", "SYS",
    ];

    /// <summary>A signal as docker and the runtime take it: TERM, SIGTERM, 15, RTMIN+3 or SIGRTMAX-1.</summary>
    public static bool IsSignal(string text)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n)) return n is >= 1 and <= 64;
        string name = text.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal)) name = name[3..];
        if (SignalNames.Contains(name)) return true;
        foreach (string rt in new[] { "RTMIN", "RTMAX" })
        {
            if (name == rt) return true;
            if (name.StartsWith(rt, StringComparison.Ordinal) && name.Length > rt.Length + 1 && name[rt.Length] is '+' or '-'
                && int.TryParse(name[(rt.Length + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int k) && k <= 30)
                return true;
        }
        return false;
    }

    /// <summary>Checks -StopSignal and -StopTimeout at creation, so a bad one never waits for the first stop.</summary>
    public static void ValidateStop(ContainerOptions o)
    {
        if (o.StopSignal is { } s && !IsSignal(s))
            throw new EngineException("InvalidSignal", ErrorKind.InvalidArgument, s, $"'{s}' is not a signal: use a name such as SIGTERM or TERM, or a number.");
        if (o.StopTimeout is int t && t is < 0 or > 3600)
            throw new EngineException("InvalidStopTimeout", ErrorKind.InvalidArgument, t, "-StopTimeout must be within 0..3600 seconds.");
    }
}
