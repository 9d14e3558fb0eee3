using PSContainer.Native;

namespace PSContainer.Engine.Containers;

public enum ChangeKind { Changed, Added, Deleted }

/// <summary>One path of a container that differs from its image (docker diff: C, A or D).</summary>
public sealed record ContainerChange(string Path, ChangeKind Kind)
{
    /// <summary>docker diff's letter.</summary>
    public char Letter => Kind switch { ChangeKind.Added => 'A', ChangeKind.Deleted => 'D', _ => 'C' };

    public override string ToString() => $"{Letter} {Path}";
}

/// <summary>What an entry of an overlayfs upper directory is.</summary>
public enum UpperEntryType { File, Directory, OpaqueDirectory, Whiteout }

/// <summary>An entry of an upper directory: its path in the container ("/etc/hosts") and on the host.</summary>
public sealed record UpperEntry(string Path, string HostPath, UpperEntryType Type);

/// <summary>
/// Reads a container's overlayfs upper directory, which holds everything the container changed: new and modified
/// files, whiteouts (0/0 character devices) for deletions, and opaque directories for directories replaced whole.
/// The upper directory outlives the container's run, so this works for stopped containers as well as running ones.
/// Shared by docker diff, and meant for commit and export.
/// </summary>
public static partial class UpperLayer
{
    /// <summary>
    /// Every entry, a directory's entries (in ordinal order) before those of its subdirectories, so parents come before
    /// children; symlinks are entries, never followed.
    /// </summary>
    public static IEnumerable<UpperEntry> Walk(string upperDir)
    {
        if (!Directory.Exists(upperDir)) yield break;
        var pending = new Stack<(string Host, string Path)>();
        pending.Push((upperDir, ""));
        while (pending.Count > 0)
        {
            var (hostDir, dir) = pending.Pop();
            var children = new DirectoryInfo(hostDir).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
            var subdirectories = new List<(string, string)>();
            foreach (var child in children)
            {
                string path = dir + "/" + child.Name;
                bool isDirectory = (child.Attributes & FileAttributes.Directory) != 0 && child.LinkTarget is null;
                UpperEntryType type = isDirectory
                    ? OverlayFiles.IsOpaque(child.FullName) ? UpperEntryType.OpaqueDirectory : UpperEntryType.Directory
                    : OverlayFiles.IsWhiteout(child.FullName) ? UpperEntryType.Whiteout : UpperEntryType.File;
                yield return new UpperEntry(path, child.FullName, type);
                if (isDirectory) subdirectories.Add((child.FullName, path));
            }
            for (int i = subdirectories.Count - 1; i >= 0; i--) pending.Push(subdirectories[i]);
        }
    }

    /// <summary>
    /// docker diff of an upper directory over its lower layers (top first): a whiteout is D; an entry the lowers also
    /// have is C (a directory only when its own metadata changed), else A; an opaque directory the lowers have is C,
    /// and what it hides from them is D (docker reports such a directory as D and its content as A/C: here it stays
    /// what it is, a directory that was emptied and refilled). Every parent of a change is C, as docker shows it.
    /// </summary>
    public static IReadOnlyList<ContainerChange> Changes(string upperDir, IReadOnlyList<string> lowerDirs)
    {
        var changes = new Dictionary<string, ChangeKind>(StringComparer.Ordinal);
        void Record(string path, ChangeKind kind)
        {
            changes[path] = kind;
            for (string parent = ParentOf(path); parent != "/"; parent = ParentOf(parent))
                changes.TryAdd(parent, ChangeKind.Changed);
        }
        foreach (var entry in Walk(upperDir))
        {
            if (entry.Type == UpperEntryType.Whiteout)
            {
                // A whiteout over nothing (a file made and deleted in the container) is no change of the image.
                if (LowerExists(lowerDirs, entry.Path)) Record(entry.Path, ChangeKind.Deleted);
                continue;
            }
            string? lower = LowerPath(lowerDirs, entry.Path);
            if (lower is null)
            {
                Record(entry.Path, ChangeKind.Added);
                continue;
            }
            if (entry.Type == UpperEntryType.OpaqueDirectory)
            {
                Record(entry.Path, ChangeKind.Changed);
                foreach (string hidden in LowerNames(lowerDirs, entry.Path))
                    if (!Path.Exists(Path.Combine(entry.HostPath, hidden)) && !changes.ContainsKey(entry.Path + "/" + hidden))
                        Record(entry.Path + "/" + hidden, ChangeKind.Deleted);
                continue;
            }
            if (entry.Type == UpperEntryType.Directory && Directory.Exists(lower) && SameMetadata(entry.HostPath, lower)) continue;
            Record(entry.Path, ChangeKind.Changed);
        }
        return changes.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new ContainerChange(c.Key, c.Value)).ToList();
    }

    private static string ParentOf(string path)
    {
        int slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }

    private static bool SameMetadata(string a, string b)
    {
        var x = new DirectoryInfo(a);
        var y = new DirectoryInfo(b);
        return x.UnixFileMode == y.UnixFileMode && x.LastWriteTimeUtc == y.LastWriteTimeUtc;
    }

    private static bool LowerExists(IReadOnlyList<string> lowerDirs, string path) => LowerPath(lowerDirs, path) is not null;

    /// <summary>
    /// Where the lowers' merged view has <paramref name="path"/>: the topmost layer holding it, unless a higher layer
    /// whites it (or a parent) out or makes a parent opaque; null when the image does not have it.
    /// </summary>
    public static string? LowerPath(IReadOnlyList<string> lowerDirs, string path)
    {
        string[] parts = path.Trim('/').Split('/');
        foreach (string layer in lowerDirs)
        {
            string current = layer;
            for (int i = 0; i < parts.Length; i++)
            {
                current = Path.Combine(current, parts[i]);
                bool last = i == parts.Length - 1;
                if (OverlayFiles.IsWhiteout(current)) return null;
                if (!Path.Exists(current) && new FileInfo(current).LinkTarget is null) break; // not in this layer: look lower
                if (last) return current;
                // A parent that is a file or link here hides everything below it; an opaque one hides lower layers.
                if (!Directory.Exists(current) || new FileInfo(current).LinkTarget is not null) return null;
                if (OverlayFiles.IsOpaque(current))
                {
                    string rest = Path.Combine(current, Path.Combine(parts[(i + 1)..]));
                    return Path.Exists(rest) && !OverlayFiles.IsWhiteout(rest) ? rest : null;
                }
            }
        }
        return null;
    }

    /// <summary>The names the lowers' merged view shows in a directory.</summary>
    private static IEnumerable<string> LowerNames(IReadOnlyList<string> lowerDirs, string directory)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string layer in lowerDirs)
        {
            string dir = Path.Combine(layer, directory.TrimStart('/'));
            if (!Directory.Exists(dir)) continue;
            foreach (string entry in Directory.EnumerateFileSystemEntries(dir)) names.Add(Path.GetFileName(entry));
        }
        return names.Where(n => LowerExists(lowerDirs, directory + "/" + n)).ToList();
    }
}
