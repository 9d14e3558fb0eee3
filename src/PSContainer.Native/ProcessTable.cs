using System.Globalization;

namespace PSContainer.Native;

/// <summary>The host's processes as /proc lists them: the scans the engine makes to find its own helper processes
/// (monitors, DNS servers) by their command lines.</summary>
public static class ProcessTable
{
    /// <summary>The pids in /proc at the moment of the scan (a process may end before its entry is read).</summary>
    public static IEnumerable<int> Pids()
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                yield return pid;
    }

    /// <summary>A process's argv (split at NULs; a trailing empty entry stays, as /proc gives it), or null when the
    /// process ended or cannot be read.</summary>
    public static string[]? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Split('\0');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Every readable process with its argv.</summary>
    public static IEnumerable<(int Pid, string[] Argv)> CommandLines()
    {
        foreach (int pid in Pids())
            if (CommandLine(pid) is { } argv) yield return (pid, argv);
    }
}
