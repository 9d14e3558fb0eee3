using System.Security.Cryptography;
using System.Text.Json;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Build;

/// <summary>
/// Content hashes of context files, remembered by path with the size and modification time (100 ns) they had when
/// hashed, so a rebuild re-reads only files whose metadata changed — as BuildKit's content hash cache does. A file
/// rewritten with the same size and time to the tick is the case this misses; -NoCache hashes everything again.
/// </summary>
public sealed class FileDigestCache
{
    private sealed record Entry(long Size, long Modified, string Hash);

    private readonly string file;
    private readonly Dictionary<string, Entry> entries;
    private readonly bool trust;
    private bool dirty;

    private FileDigestCache(string file, Dictionary<string, Entry> entries, bool trust)
    {
        this.file = file;
        this.entries = entries;
        this.trust = trust;
    }

    /// <summary>The cache of a state root; <paramref name="trust"/> false hashes every file (and refreshes the cache).</summary>
    public static FileDigestCache Load(BuildCache cache, bool trust)
    {
        string file = Path.Combine(cache.Directory, "file-digests.json");
        Dictionary<string, Entry>? entries = null;
        try
        {
            if (trust && File.Exists(file)) entries = JsonSerializer.Deserialize<Dictionary<string, Entry>>(File.ReadAllBytes(file));
        }
        catch (JsonException)
        {
            entries = null; // a damaged cache file is only a slower build
        }
        return new FileDigestCache(file, entries ?? new Dictionary<string, Entry>(StringComparer.Ordinal), trust);
    }

    public string Digest(string path, FileInfo info)
    {
        long size = info.Length, modified = info.LastWriteTimeUtc.Ticks;
        if (trust && entries.TryGetValue(path, out var known) && known.Size == size && known.Modified == modified) return known.Hash;
        string hash;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16)) hash = Convert.ToHexStringLower(SHA256.HashData(stream));
        entries[path] = new Entry(size, modified, hash);
        dirty = true;
        return hash;
    }

    public void Save(string tempDirectory)
    {
        if (!dirty) return;
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        Directory.CreateDirectory(tempDirectory);
        AtomicFile.Write(file, JsonSerializer.SerializeToUtf8Bytes(entries), tempDirectory);
        dirty = false;
    }
}
