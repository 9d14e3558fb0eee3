using System.Globalization;
using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Storage;

/// <summary>
/// Entries in the store's tmp/ belong to the process that made them: their names carry its pid and start time
/// (<c>kind-PID.START.PIDNS-guid</c>), so anyone can tell the work of a killed session from a live one's and remove only
/// the former, without waiting for a garbage collection that may never come.
/// </summary>
public static class TempOwner
{
    /// <summary>
    /// pid.start.pidns of this process. A start time that cannot be read gives "unknown", a form no sweep removes;
    /// the pid namespace keeps sessions in another one (a toolbox sharing the root) from judging pids they cannot see.
    /// </summary>
    private static readonly string Me = ProcessInfo.StartTime(Environment.ProcessId) is long start and > 0
        ? $"{Environment.ProcessId}.{start}.{PidNamespace()}"
        : "unknown";

    private static string PidNamespace()
    {
        // "pid:[4026531836]" -> 4026531836
        string? link = new FileInfo("/proc/self/ns/pid").LinkTarget;
        return link is null ? "0" : new string(link.Where(char.IsAsciiDigit).ToArray());
    }

    /// <summary>A name for a new temporary entry of this process.</summary>
    public static string NewName(string kind, string extension = "") => $"{kind}-{Me}-{Guid.NewGuid():N}{extension}";

    /// <summary>
    /// Whether <paramref name="name"/> is a temporary entry whose owner has exited: its pid is gone, or belongs to a
    /// process started at another time. False for names it cannot read, owners in another pid namespace, and
    /// processes whose start time cannot be read (alive as far as anyone can tell).
    /// </summary>
    public static bool IsOrphan(string name) => OwnerAlive(name) == false;

    /// <summary>Whether <paramref name="name"/> names its owner and that process is running (same pid, same start).</summary>
    public static bool IsOwnerAlive(string name) => OwnerAlive(name) == true;

    /// <summary>True: the owner runs; false: it has exited; null: the name, its pid namespace or its start time
    /// cannot be judged from here.</summary>
    private static bool? OwnerAlive(string name)
    {
        string[] parts = name.Split('-');
        if (parts.Length < 3) return null;
        // kind-OWNER-guid: the owner is the part before the guid, so a kind may itself hold hyphens (build-bind).
        string[] owner = parts[^2].Split('.');
        if (owner.Length != 3
            || !int.TryParse(owner[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            || !long.TryParse(owner[1], NumberStyles.None, CultureInfo.InvariantCulture, out long start)
            || owner[2] != PidNamespace())
            return null;
        if (!Directory.Exists($"/proc/{pid}")) return false;
        long now = ProcessInfo.StartTime(pid);
        return now == 0 ? null : now == start;
    }

    /// <summary>Removes the temporaries of processes that have exited; returns their names.</summary>
    public static IReadOnlyList<string> RemoveOrphans(string tempDirectory)
    {
        var removed = new List<string>();
        if (!Directory.Exists(tempDirectory)) return removed;
        foreach (string entry in Directory.EnumerateFileSystemEntries(tempDirectory).ToList())
        {
            string name = Path.GetFileName(entry);
            if (!IsOrphan(name)) continue;
            try
            {
                if (Directory.Exists(entry)) LayerStore.DeleteTree(entry);
                else File.Delete(entry);
                removed.Add(name);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another session removed it first, or it is not ours to remove: the next sweep looks again.
            }
        }
        return removed;
    }
}
