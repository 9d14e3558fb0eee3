using System.Globalization;
using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Storage;

/// <summary>
/// Entries in the store's tmp/ belong to the process that made them: their names carry its pid and start time
/// (<c>kind-PID.START-guid</c>), so anyone can tell the work of a killed session from a live one's and remove only
/// the former, without waiting for a garbage collection that may never come.
/// </summary>
public static class TempOwner
{
    private static readonly string Me = $"{Environment.ProcessId}.{ProcessInfo.StartTime(Environment.ProcessId)}";

    /// <summary>A name for a new temporary entry of this process.</summary>
    public static string NewName(string kind, string extension = "") => $"{kind}-{Me}-{Guid.NewGuid():N}{extension}";

    /// <summary>Whether <paramref name="name"/> is a temporary entry whose owner has exited (false for names it cannot read).</summary>
    public static bool IsOrphan(string name)
    {
        string[] parts = name.Split('-');
        if (parts.Length < 3) return false;
        string[] owner = parts[1].Split('.');
        if (owner.Length != 2
            || !int.TryParse(owner[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            || !long.TryParse(owner[1], NumberStyles.None, CultureInfo.InvariantCulture, out long start))
            return false;
        return !ProcessInfo.IsAlive(pid, start);
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
