using System.Security.Cryptography;
using System.Text;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Build;

/// <summary>
/// The build cache, under build-cache/ in the state root. Keys chain like BuildKit's cache keys: a step's key is
/// the hash of its parent's key, the instruction as it runs (variables expanded, flags, the ARG/ENV values RUN sees)
/// and, for COPY and ADD, the content digest of what the sources are. An entry names the image that step made (an
/// untagged image in the store); an entry whose image has since been removed is a miss. How often and when last a
/// build took an entry's step from the cache is under build-cache/usage/ (docker system df -v's USAGE and LAST USED).
/// RUN --mount=type=cache directories live under build-cache/mounts/. Prune removes all three.
/// </summary>
public sealed class BuildCache
{
    private readonly string entries;
    private readonly string usage;

    public BuildCache(StatePaths paths)
    {
        Directory = Path.Combine(paths.Root, "build-cache");
        entries = Path.Combine(Directory, "entries");
        usage = Path.Combine(Directory, "usage");
        Mounts = Path.Combine(Directory, "mounts");
        Temp = paths.Temp;
    }

    public string Directory { get; }
    public string Mounts { get; }
    private string Temp { get; }

    /// <summary>The key of a step: sha256 over the parent key and the step's parts, each length-prefixed so no two part lists collide.</summary>
    public static string Key(string parent, params string[] parts)
    {
        var sb = new StringBuilder();
        sb.Append(parent.Length).Append(':').Append(parent);
        foreach (string p in parts) sb.Append(p.Length).Append(':').Append(p);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    public string? Lookup(string key)
    {
        string file = Path.Combine(entries, key);
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }

    public void Record(string key, string imageId)
    {
        System.IO.Directory.CreateDirectory(entries);
        System.IO.Directory.CreateDirectory(Temp);
        AtomicFile.Write(Path.Combine(entries, key), Encoding.UTF8.GetBytes(imageId), Temp);
    }

    /// <summary>Counts a hit: a build took the entry's step from the cache now. Best effort: a count that cannot be
    /// written (a full disk) never fails the build that needed no write otherwise.</summary>
    public void Used(string key)
    {
        try
        {
            CountUse(key);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private void CountUse(string key)
    {
        var (count, _) = Usage(key);
        System.IO.Directory.CreateDirectory(usage);
        System.IO.Directory.CreateDirectory(Temp);
        string text = (count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) + " "
                      + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        AtomicFile.Write(Path.Combine(usage, key), Encoding.UTF8.GetBytes(text), Temp);
    }

    /// <summary>How many times builds took an entry from the cache, and when last (null: never since it was made).</summary>
    public (int Count, DateTime? LastUsed) Usage(string key)
    {
        string file = Path.Combine(usage, key);
        if (!File.Exists(file)) return (0, null);
        string[] parts = File.ReadAllText(file).Trim().Split(' ');
        return parts.Length == 2 && int.TryParse(parts[0], out int count) && long.TryParse(parts[1], out long ms)
            ? (count, DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime) : (0, null);
    }

    /// <summary>Every entry (key, image id).</summary>
    public IReadOnlyList<(string Key, string ImageId)> Entries() =>
        !System.IO.Directory.Exists(entries) ? [] :
            System.IO.Directory.EnumerateFiles(entries).Select(f => (Path.GetFileName(f), File.ReadAllText(f).Trim())).ToList();

    /// <summary>A cache mount's directory (RUN --mount=type=cache,id=...), made on first use.</summary>
    public string MountDirectory(string id)
    {
        string dir = Path.Combine(Mounts, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..32]);
        System.IO.Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Forgets every entry and deletes the cache mounts; the images the entries named are the caller's to remove.</summary>
    public void Clear()
    {
        if (System.IO.Directory.Exists(entries)) LayerStore.DeleteTree(entries);
        if (System.IO.Directory.Exists(usage)) LayerStore.DeleteTree(usage);
        if (System.IO.Directory.Exists(Mounts)) LayerStore.DeleteTree(Mounts);
        File.Delete(Path.Combine(Directory, "file-digests.json"));
    }
}
