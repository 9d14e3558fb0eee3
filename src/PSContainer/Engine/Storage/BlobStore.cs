using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Storage;

/// <summary>
/// Content-addressed blobs (OCI image layout blobs/sha256/HEX). A blob becomes visible only by rename after its
/// digest was verified, so a reader never sees partial or wrong content under a digest.
/// </summary>
public sealed class BlobStore
{
    private readonly StatePaths paths;

    public BlobStore(StatePaths paths) => this.paths = paths;

    public string PathOf(Digest digest)
    {
        if (digest.Algorithm != "sha256")
            throw new EngineException("UnsupportedDigest", ErrorKind.InvalidData, digest.ToString(), $"Only sha256 content is stored, not {digest.Algorithm}.");
        return Path.Combine(paths.Blobs, digest.Hex);
    }

    public bool Has(Digest digest) => File.Exists(PathOf(digest));

    public long SizeOf(Digest digest) => new FileInfo(PathOf(digest)).Length;

    public Stream Open(Digest digest) =>
        new FileStream(PathOf(digest), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

    /// <summary>Reads a small blob (a manifest or config), verifying it still matches its digest.</summary>
    public byte[] ReadAll(Digest digest, long maxBytes = 16 << 20)
    {
        string path = PathOf(digest);
        var info = new FileInfo(path);
        if (!info.Exists) throw new EngineException("BlobNotFound", ErrorKind.ObjectNotFound, digest.ToString(), $"Blob {digest} is not in the store.");
        if (info.Length > maxBytes) throw new EngineException("BlobTooLarge", ErrorKind.InvalidData, digest.ToString(), $"Blob {digest} is {info.Length} bytes, more than the {maxBytes} allowed for a document.");
        byte[] bytes = File.ReadAllBytes(path);
        if (Digest.Compute(bytes) != digest)
            throw new EngineException("BlobCorrupt", ErrorKind.InvalidData, digest.ToString(), $"Blob {digest} in the store no longer matches its digest.");
        return bytes;
    }

    /// <summary>Stores bytes whose digest is computed here (or checked against <paramref name="expected"/>).</summary>
    public Digest Put(ReadOnlySpan<byte> content, Digest? expected = null, object? target = null)
    {
        var digest = Digest.Compute(content);
        if (expected is not null && expected.Value != digest)
            throw new EngineException("DigestMismatch", ErrorKind.InvalidData, target ?? expected.Value.ToString(),
                $"Content does not match its digest: expected {expected}, got {digest}.");
        if (!Has(digest)) AtomicFile.Write(PathOf(digest), content, paths.Temp);
        return digest;
    }

    public PendingBlob Begin() => new(this, Path.Combine(paths.Temp, TempOwner.NewName("blob")));

    public void Delete(Digest digest) => File.Delete(PathOf(digest));

    public IEnumerable<Digest> All() =>
        Directory.EnumerateFiles(paths.Blobs)
            .Select(f => Path.GetFileName(f))
            .Where(name => Digest.TryParse("sha256:" + name, out _))
            .Select(name => new Digest("sha256", name));

    /// <summary>A blob being written to a temporary file; committed under its digest or discarded.</summary>
    public sealed class PendingBlob : IDisposable
    {
        private readonly BlobStore store;
        private readonly string tempPath;
        private bool committed;

        internal PendingBlob(BlobStore store, string tempPath)
        {
            this.store = store;
            this.tempPath = tempPath;
            Stream = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        }

        public FileStream Stream { get; }

        public void Commit(Digest digest)
        {
            Stream.Flush();
            Stream.Dispose();
            File.SetUnixFileMode(tempPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            string final = store.PathOf(digest);
            // Another session may have committed the same content meanwhile; either copy is the same bytes.
            File.Move(tempPath, final, overwrite: true);
            committed = true;
        }

        public void Dispose()
        {
            Stream.Dispose();
            if (!committed) File.Delete(tempPath);
        }
    }
}
