using System.Globalization;

namespace PSContainer.Engine;

/// <summary>
/// Durations as docker's command line and Dockerfile take them (Go's time.ParseDuration): a sequence of decimal numbers,
/// each with a unit ns, us (µs), ms, s, m or h (30s, 1m30s, 500ms, 1.5h). A bare 0 is zero.
/// </summary>
public static class Duration
{
    private static readonly (string Unit, double Ticks)[] Units =
    [
        ("ns", 0.01), ("us", 10), ("µs", 10), ("μs", 10), ("ms", TimeSpan.TicksPerMillisecond),
        ("s", TimeSpan.TicksPerSecond), ("m", TimeSpan.TicksPerMinute), ("h", TimeSpan.TicksPerHour),
    ];

    public static bool TryParse(string? text, out TimeSpan value, out string? error)
    {
        value = TimeSpan.Zero;
        error = null;
        string s = (text ?? "").Trim();
        bool negative = s.StartsWith('-');
        if (negative || s.StartsWith('+')) s = s[1..];
        if (s == "0") return true;
        if (s.Length == 0)
        {
            error = $"'{text}' is not a duration: use a number with a unit, for example 30s, 500ms or 1m30s.";
            return false;
        }
        double ticks = 0;
        int i = 0;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (i == start || !double.TryParse(s[start..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
            {
                error = $"'{text}' is not a duration: use a number with a unit, for example 30s, 500ms or 1m30s.";
                return false;
            }
            int unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.') i++;
            string unit = s[unitStart..i];
            var match = Units.FirstOrDefault(u => u.Unit == unit);
            if (match.Unit is null)
            {
                error = $"'{text}' is not a duration: '{unit}' is not a unit (ns, us, ms, s, m, h).";
                return false;
            }
            ticks += number * match.Ticks;
        }
        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            error = $"'{text}' is too long a duration.";
            return false;
        }
        value = TimeSpan.FromTicks((long)Math.Round(ticks) * (negative ? -1 : 1));
        return true;
    }

    /// <summary>Go's String() form for messages: 30s, 1m30s, 500ms.</summary>
    public static string Format(TimeSpan d)
    {
        if (d == TimeSpan.Zero) return "0s";
        if (d < TimeSpan.FromSeconds(1)) return $"{d.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture)}ms";
        string text = "";
        if (d.TotalHours >= 1) text += $"{(int)d.TotalHours}h";
        if (d.TotalMinutes >= 1) text += $"{d.Minutes}m";
        double seconds = d.Seconds + d.Milliseconds / 1000.0;
        return text + seconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
    }
}
