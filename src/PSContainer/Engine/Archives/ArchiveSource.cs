using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Archives;

/// <summary>Files of an image archive, read where they are: members of a tar file (by offset) or files in a directory.</summary>
public interface IArchiveSource : IDisposable
{
    string Description { get; }
    bool Exists(string path);
    long SizeOf(string path);
    Stream Open(string path);
}

public static class ArchiveSourceExtensions
{
    public static byte[] ReadSmall(this IArchiveSource source, string path, long maxBytes = 16 << 20)
    {
        long size = source.SizeOf(path);
        if (size > maxBytes)
            throw new EngineException("ArchiveDocumentTooLarge", ErrorKind.InvalidData, source.Description, $"'{path}' in {source.Description} is {size} bytes; a document may be at most {maxBytes}.");
        using var s = source.Open(path);
        var bytes = new byte[size];
        s.ReadExactly(bytes);
        return bytes;
    }
}

/// <summary>
/// A tar file indexed in one pass over its headers (seeking past data), then read member by member in place. Each
/// Open gets its own file handle, so layers can be read in parallel.
/// </summary>
public sealed class TarFileSource : IArchiveSource
{
    private readonly string file;
    private readonly Dictionary<string, TarHeader> members = new(StringComparer.Ordinal);

    public TarFileSource(string file)
    {
        this.file = file;
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var reader = new TarReader(stream);
        TarHeader? entry;
        while ((entry = reader.Next()) is not null)
        {
            string name = Normalize(entry.Name);
            if (name.Length > 0) members[name] = entry;
        }
    }

    public string Description => file;

    public IReadOnlyCollection<string> Names => members.Keys;

    private static string Normalize(string name)
    {
        var parts = new List<string>();
        foreach (string p in name.Split('/'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(p);
        }
        return string.Join('/', parts);
    }

    /// <summary>Follows symlinks between members (docker save links a layer.tar it already wrote to the first copy).</summary>
    private TarHeader Resolve(string path)
    {
        string current = Normalize(path);
        for (int hops = 0; hops < 16; hops++)
        {
            if (!members.TryGetValue(current, out var entry))
                throw new EngineException("ArchiveMemberMissing", ErrorKind.InvalidData, file, $"'{path}' is not in {file}.");
            if (entry.Kind == TarEntryKind.File) return entry;
            if (entry.Kind is not (TarEntryKind.Symlink or TarEntryKind.HardLink))
                throw new EngineException("ArchiveMemberNotFile", ErrorKind.InvalidData, file, $"'{path}' in {file} is not a file.");
            string target = entry.LinkName;
            if (entry.Kind == TarEntryKind.Symlink && !target.StartsWith('/'))
            {
                int slash = current.LastIndexOf('/');
                target = (slash < 0 ? "" : current[..slash] + "/") + target;
            }
            current = Normalize(target);
        }
        throw new EngineException("ArchiveLinkLoop", ErrorKind.InvalidData, file, $"'{path}' in {file} is a chain of links that does not end.");
    }

    public bool Exists(string path) => members.ContainsKey(Normalize(path));

    public long SizeOf(string path) => Resolve(path).Size;

    public Stream Open(string path)
    {
        var entry = Resolve(path);
        var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 17, FileOptions.SequentialScan);
        return new WindowStream(stream, entry.DataOffset, entry.Size);
    }

    public void Dispose() { }
}

/// <summary>An image archive unpacked in a directory (an OCI image layout directory).</summary>
public sealed class DirectorySource : IArchiveSource
{
    private readonly string root;

    public DirectorySource(string root) => this.root = Path.GetFullPath(root);

    public string Description => root;

    private string Resolve(string path)
    {
        string full = Path.GetFullPath(Path.Combine(root, path.TrimStart('/')));
        if (!full.StartsWith(root + "/", StringComparison.Ordinal))
            throw new EngineException("ArchivePathEscapes", ErrorKind.SecurityError, root, $"'{path}' points outside {root}.");
        return full;
    }

    public bool Exists(string path) => File.Exists(Resolve(path));

    public long SizeOf(string path) => new FileInfo(Resolve(path)).Length;

    public Stream Open(string path) => new FileStream(Resolve(path), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 17, FileOptions.SequentialScan);

    public void Dispose() { }
}

/// <summary>Paths of blobs in an OCI layout.</summary>
public static class OciLayoutPaths
{
    public static string Blob(Digest digest) => $"blobs/{digest.Algorithm}/{digest.Hex}";
}
