using System.Globalization;

namespace PSContainer.Engine.Containers;

/// <summary>Facts about host processes from /proc, with the start time guarding against pid reuse.</summary>
public static class ProcessInfo
{
    /// <summary>Field 22 of /proc/PID/stat (start time in clock ticks since boot), or 0 if the process is gone.</summary>
    public static long StartTime(int pid)
    {
        if (pid <= 0) return 0;
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // comm (field 2) may hold spaces and parentheses: the fields after it start after the last ')'.
            string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (rest[0] == "Z" || rest[0] == "X") return 0;
            return long.Parse(rest[19], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }

    public static bool IsAlive(int pid, long startTime) => pid > 0 && startTime != 0 && StartTime(pid) == startTime;

    public static bool Exists(int pid) => StartTime(pid) != 0;
}
