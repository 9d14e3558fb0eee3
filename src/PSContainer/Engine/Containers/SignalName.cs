namespace PSContainer.Engine.Containers;

/// <summary>Signal names as docker takes them (docker stop -s, docker kill -s): SIGTERM, TERM or a number.</summary>
public static class SignalName
{
    private static readonly string[] Names =
    [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
        "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO",
        "PWR", "SYS",
    ];

    /// <summary>"SIGNAME" for a name, the number for a number (1-64); InvalidSignal (dockerd's message) otherwise.</summary>
    public static string Normalize(string signal)
    {
        if (int.TryParse(signal, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n))
            return n is >= 1 and <= 64 ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : throw Invalid(signal);
        string name = signal.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal)) name = name[3..];
        if (Array.IndexOf(Names, name) >= 0 || name is "IOT" or "POLL" or "CLD" || name.StartsWith("RTMIN", StringComparison.Ordinal) || name.StartsWith("RTMAX", StringComparison.Ordinal))
            return "SIG" + name;
        throw Invalid(signal);
    }

    /// <summary>The number of a standard signal (1-31) by name (TERM, SIGTERM, the aliases IOT, CLD, POLL) or number;
    /// null for a realtime one or one that is not a signal.</summary>
    public static int? StandardNumber(string signal)
    {
        string name = signal.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal)) name = name[3..];
        int number = int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n)
            ? n
            : name switch { "IOT" => 6, "CLD" => 17, "POLL" => 29, _ => Array.IndexOf(Names, name) + 1 };
        return number is >= 1 and <= 31 ? number : null;
    }

    private static EngineException Invalid(string signal) =>
        new("InvalidSignal", ErrorKind.InvalidArgument, signal, $"Invalid signal: {signal}");
}
