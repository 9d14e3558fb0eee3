using System.Text.Json;
using Microsoft.Data.Sqlite;
using PSContainer.Engine.Oci;
using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Images;

/// <summary>A layer as recorded for an image: where its blob is and which unpacked directory it is.</summary>
public sealed record ImageLayerRecord(int Position, Digest ChainId, Digest DiffId, Digest BlobDigest, string MediaType, long BlobSize);

/// <summary>What the importer hands over once every blob and layer of an image is in place.</summary>
public sealed record ImageRecord(
    Digest Id, Digest ManifestDigest, string ManifestMediaType, ImageConfigFile Config,
    IReadOnlyList<ImageLayerRecord> Layers, long Size);

/// <summary>
/// The image store: records in SQLite, content in an OCI layout beside it. Queries, tags, removal and garbage
/// collection live here; import and export read and write through it.
/// </summary>
public sealed class ImageStore
{
    public ImageStore(StatePaths paths)
    {
        Paths = paths;
        paths.EnsureCreated();
        Db = new StateDb(paths.Database);
        Blobs = new BlobStore(paths);
        Layers = new LayerStore(paths);
    }

    public StatePaths Paths { get; }
    public StateDb Db { get; }
    public BlobStore Blobs { get; }
    public LayerStore Layers { get; }

    /// <summary>Images the container layer says are in use (set once containers exist); removal refuses them unless forced.</summary>
    public Func<IReadOnlySet<string>> ImagesInUse { get; set; } = () => new HashSet<string>();

    /// <summary>
    /// Held shared while content is added, exclusive while garbage is collected: the lock every writer holds.
    /// Taking it also removes the temporaries that killed sessions left in tmp/ (their owners are gone); a live
    /// session's are never touched.
    /// </summary>
    public FileLock LockForWriting()
    {
        var held = FileLock.Acquire(Paths.StoreLock, exclusive: false);
        try
        {
            TempOwner.RemoveOrphans(Paths.Temp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // tmp/ unreadable right now: the sweep is a courtesy, the write can still go ahead.
        }
        return held;
    }

    // ---- recording ------------------------------------------------------------------------------------------

    public void RecordLayer(Digest chainId, Digest diffId, Digest? parent, long size, long entries) =>
        Db.Write((c, tx) => c.Execute(tx,
            "INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size, entries) VALUES($c, $d, $p, $s, $e)",
            ("$c", chainId.ToString()), ("$d", diffId.ToString()), ("$p", parent?.ToString()), ("$s", size), ("$e", entries)));

    /// <summary>Whether some image records this blob as the layer with this chain id (so the pair was verified).</summary>
    public bool IsVerifiedPair(Digest blob, Digest chainId) => Db.Read(c =>
    {
        using var cmd = c.Command(null, "SELECT 1 FROM image_layers WHERE blob_digest = $b AND chain_id = $c LIMIT 1", ("$b", blob.ToString()), ("$c", chainId.ToString()));
        return cmd.ExecuteScalar() is not null;
    });

    public long? LayerSize(Digest chainId) => Db.Read(c =>
    {
        using var cmd = c.Command(null, "SELECT size FROM layers WHERE chain_id = $c", ("$c", chainId.ToString()));
        return cmd.ExecuteScalar() is long n ? n : (long?)null;
    });

    /// <summary>Records an image (idempotent) and points the given tags at it, in one transaction.</summary>
    public void RecordImage(ImageRecord image, IEnumerable<ImageReference> tags)
    {
        Db.Write((c, tx) =>
        {
            c.Execute(tx, """
                INSERT INTO images(id, manifest_digest, manifest_media_type, created, size, architecture, os, variant, added)
                VALUES($id, $md, $mt, $cr, $sz, $ar, $os, $va, $ad)
                ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest, manifest_media_type = excluded.manifest_media_type
                """,
                ("$id", image.Id.ToString()), ("$md", image.ManifestDigest.ToString()), ("$mt", image.ManifestMediaType),
                ("$cr", image.Config.Created?.UtcDateTime.ToString("O")), ("$sz", image.Size),
                ("$ar", image.Config.Architecture), ("$os", image.Config.Os), ("$va", image.Config.Variant),
                ("$ad", DateTime.UtcNow.ToString("O")));
            c.Execute(tx, "DELETE FROM image_layers WHERE image_id = $id", ("$id", image.Id.ToString()));
            foreach (var layer in image.Layers)
            {
                c.Execute(tx, """
                    INSERT INTO image_layers(image_id, position, chain_id, diff_id, blob_digest, media_type, blob_size)
                    VALUES($id, $p, $c, $d, $b, $m, $s)
                    """,
                    ("$id", image.Id.ToString()), ("$p", layer.Position), ("$c", layer.ChainId.ToString()), ("$d", layer.DiffId.ToString()),
                    ("$b", layer.BlobDigest.ToString()), ("$m", layer.MediaType), ("$s", layer.BlobSize));
            }
            foreach (var tag in tags) SetTag(c, tx, tag, image.Id);
        });
        WriteLayoutIndex();
    }

    private static void SetTag(SqliteConnection c, SqliteTransaction tx, ImageReference tag, Digest imageId)
    {
        if (tag.Digest is not null)
            c.Execute(tx, "INSERT INTO repo_digests(name, image_id) VALUES($n, $i) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                ("$n", tag.Repository + "@" + tag.Digest), ("$i", imageId.ToString()));
        else
            c.Execute(tx, "INSERT INTO tags(name, image_id) VALUES($n, $i) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                ("$n", tag.ToString()), ("$i", imageId.ToString()));
    }

    public void AddTag(ContainerImage image, ImageReference tag)
    {
        if (tag.Digest is not null)
            throw new EngineException("TagIsDigest", ErrorKind.InvalidArgument, tag.ToString(), "A tag cannot contain a digest; give repository[:tag].");
        Db.Write((c, tx) => SetTag(c, tx, tag, Digest.Parse(image.Id)));
        WriteLayoutIndex();
    }

    /// <summary>Records repository@digest for an image (after a push, the registry serves it under that digest).</summary>
    public void AddRepoDigest(ContainerImage image, ImageReference repoDigest)
    {
        if (repoDigest.Digest is null)
            throw new EngineException("RepoDigestWithoutDigest", ErrorKind.InvalidArgument, repoDigest.ToString(), "A repository digest needs @sha256:….");
        Db.Write((c, tx) => SetTag(c, tx, repoDigest with { Tag = null }, Digest.Parse(image.Id)));
    }

    // ---- queries -----------------------------------------------------------------------------------------

    public IReadOnlyList<ContainerImage> List() => Db.Read(c =>
    {
        var rows = c.Query(null, "SELECT id, manifest_digest, manifest_media_type, created, size, architecture, os, variant, added FROM images ORDER BY added DESC",
            r => (Id: r.GetString(0), Manifest: r.GetString(1), MediaType: r.GetString(2), Created: r.IsDBNull(3) ? null : r.GetString(3),
                  Size: r.GetInt64(4), Arch: r.GetString(5), Os: r.GetString(6), Variant: r.IsDBNull(7) ? null : r.GetString(7), Added: r.GetString(8)));
        var tags = c.Query(null, "SELECT name, image_id FROM tags ORDER BY name", r => (r.GetString(0), r.GetString(1)))
            .ToLookup(t => t.Item2, t => t.Item1);
        var digests = c.Query(null, "SELECT name, image_id FROM repo_digests ORDER BY name", r => (r.GetString(0), r.GetString(1)))
            .ToLookup(t => t.Item2, t => t.Item1);
        var layers = c.Query(null, "SELECT image_id, diff_id FROM image_layers ORDER BY image_id, position", r => (r.GetString(0), r.GetString(1)))
            .ToLookup(t => t.Item1, t => t.Item2);
        var result = new List<ContainerImage>();
        foreach (var row in rows)
        {
            ImageRunConfig config;
            try
            {
                config = ToRunConfig(OciJson.Parse<ImageConfigFile>(Blobs.ReadAll(Digest.Parse(row.Id)), "image config", row.Id).Config);
            }
            catch (EngineException)
            {
                config = new ImageRunConfig(); // the config blob is damaged; the image still shows so it can be removed
            }
            result.Add(new ContainerImage
            {
                Id = row.Id,
                RepoTags = tags[row.Id].Select(Familiar).ToArray(),
                RepoDigests = digests[row.Id].Select(Familiar).ToArray(),
                Created = row.Created is null ? null : DateTime.Parse(row.Created, null, System.Globalization.DateTimeStyles.RoundtripKind),
                Size = row.Size,
                Architecture = row.Arch,
                Os = row.Os,
                Variant = row.Variant,
                Config = config,
                Layers = layers[row.Id].ToArray(),
                ManifestDigest = row.Manifest,
                ManifestMediaType = row.MediaType,
                Added = DateTime.Parse(row.Added, null, System.Globalization.DateTimeStyles.RoundtripKind),
            });
        }
        return result;
    });

    private static string Familiar(string fullName) =>
        ImageReference.TryParse(fullName, false, out var r, out _) ? r!.FamiliarString : fullName;

    public static ImageRunConfig ToRunConfig(ExecutionConfig? c) => c is null ? new ImageRunConfig() : new ImageRunConfig
    {
        Cmd = c.Cmd?.ToArray() ?? [],
        Entrypoint = c.Entrypoint?.ToArray() ?? [],
        Env = c.Env?.ToArray() ?? [],
        WorkingDir = c.WorkingDir ?? "",
        User = c.User ?? "",
        ExposedPorts = c.ExposedPorts?.Keys.Order(StringComparer.Ordinal).ToArray() ?? [],
        Volumes = c.Volumes?.Keys.Order(StringComparer.Ordinal).ToArray() ?? [],
        Labels = c.Labels is null ? new Dictionary<string, string>() : new Dictionary<string, string>(c.Labels),
        StopSignal = c.StopSignal ?? "",
        Healthcheck = c.Healthcheck,
    };

    /// <summary>
    /// Throws InvalidReference when <paramref name="nameOrId"/> is neither an image id (or a prefix of one) nor a
    /// valid reference, so 'Probe/BB:1' is reported as the bad name it is rather than as a missing image.
    /// </summary>
    public static void ValidateNameOrId(string nameOrId)
    {
        string text = nameOrId.Trim();
        string hex = text.StartsWith("sha256:", StringComparison.Ordinal) ? text[7..] : text;
        if (hex.Length >= 4 && hex.All(ch => ch is (>= '0' and <= '9') or (>= 'a' and <= 'f'))) return;
        ImageReference.Parse(text);
    }

    /// <summary>
    /// Finds one image the way docker resolves an image argument: a full or short id (with or without sha256:),
    /// a tag (busybox = docker.io/library/busybox:latest), or repository@digest.
    /// </summary>
    public ContainerImage? Find(string nameOrId)
    {
        var all = List();
        string text = nameOrId.Trim();
        string hex = text.StartsWith("sha256:", StringComparison.Ordinal) ? text[7..] : text;
        bool hexLike = hex.Length >= 4 && hex.All(ch => ch is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
        // docker's order: a full id, then a reference (a tag that looks like hex is still a tag), then an id prefix.
        if (hexLike && hex.Length == 64 && all.FirstOrDefault(i => i.Id[7..] == hex) is { } exact) return exact;
        if (ImageReference.TryParse(text, defaultTag: true, out var reference, out _))
        {
            if (reference!.Digest is not null)
            {
                string key = reference.Repository + "@" + reference.Digest;
                var match = all.FirstOrDefault(i => i.RepoDigests.Any(d => Full(d) == key))
                            // A manifest digest of an image we imported (not pulled) names it too.
                            ?? all.FirstOrDefault(i => i.ManifestDigest == reference.Digest.ToString());
                if (match is not null) return match;
            }
            else
            {
                string tag = reference.ToString();
                if (all.FirstOrDefault(i => i.RepoTags.Any(t => Full(t) == tag)) is { } tagged) return tagged;
            }
        }
        if (!hexLike) return null;
        var byId = all.Where(i => i.Id[7..].StartsWith(hex, StringComparison.Ordinal)).ToList();
        if (byId.Count > 1)
            throw new EngineException("AmbiguousImageId", ErrorKind.InvalidArgument, nameOrId, $"Image id prefix '{hex}' matches {byId.Count} images; give more digits.");
        return byId.FirstOrDefault();
    }

    private static string Full(string familiar) => ImageReference.TryParse(familiar, false, out var r, out _) ? r!.ToString() : familiar;

    public ContainerImage Get(string nameOrId) =>
        Find(nameOrId) ?? throw new EngineException("ImageNotFound", ErrorKind.ObjectNotFound, nameOrId, $"No such image: {nameOrId}");

    public Manifest ReadManifest(ContainerImage image) =>
        OciJson.Parse<Manifest>(Blobs.ReadAll(Digest.Parse(image.ManifestDigest)), "image manifest", image.Id);

    public IReadOnlyList<ImageLayerRecord> LayersOf(string imageId) => Db.Read(c => c.Query(null,
        "SELECT position, chain_id, diff_id, blob_digest, media_type, blob_size FROM image_layers WHERE image_id = $i ORDER BY position",
        r => new ImageLayerRecord(r.GetInt32(0), Digest.Parse(r.GetString(1)), Digest.Parse(r.GetString(2)), Digest.Parse(r.GetString(3)), r.GetString(4), r.GetInt64(5)),
        ("$i", imageId)));

    // ---- removal ------------------------------------------------------------------------------------------

    /// <summary>What a removal did, one line per effect, as docker rmi prints them.</summary>
    public sealed record RemovalResult(IReadOnlyList<string> Untagged, IReadOnlyList<string> Deleted);

    /// <summary>
    /// docker rmi semantics: naming a tag removes that tag, and the image with it when it was the last one. Naming
    /// an id deletes the image, which (without force) must not have more than one tag. An image used by a
    /// container is never deleted without force.
    /// </summary>
    public RemovalResult Remove(string nameOrId, bool force)
    {
        var image = Get(nameOrId);
        string text = nameOrId.Trim();
        bool byReference = !IsIdLike(text, image) && ImageReference.TryParse(text, true, out var reference, out _);
        var untagged = new List<string>();
        var deleted = new List<string>();

        Db.Write((c, tx) =>
        {
            bool deleteImage;
            if (byReference)
            {
                var r = ImageReference.Parse(text);
                string key = r.Digest is not null ? r.Repository + "@" + r.Digest : r.ToString();
                string table = r.Digest is not null ? "repo_digests" : "tags";
                if (c.Execute(tx, $"DELETE FROM {table} WHERE name = $n", ("$n", key)) > 0) untagged.Add(Familiar(key));
                deleteImage = RemainingReferences(c, tx, image.Id) == 0;
            }
            else
            {
                if (image.RepoTags.Length > 1 && !force)
                    throw new EngineException("ImageHasMultipleTags", ErrorKind.InvalidOperation, nameOrId,
                        $"Image {image.ShortId} is referenced in multiple repositories ({string.Join(", ", image.RepoTags)}); remove by tag, or use -Force.");
                deleteImage = true;
            }
            if (deleteImage && ImagesInUse().Contains(image.Id))
            {
                if (!force)
                    throw new EngineException("ImageInUse", ErrorKind.InvalidOperation, nameOrId,
                        $"Image {image.ShortId} is used by a container; remove the container first, or use -Force to untag it.");
                // Even forced, an image a container runs from keeps its content (its layers are the container's
                // lower dirs): only its names go, as docker rmi -f does for an image in use.
                foreach (string t in image.RepoTags)
                    if (c.Execute(tx, "DELETE FROM tags WHERE name = $n", ("$n", Full(t))) > 0 && !untagged.Contains(t)) untagged.Add(t);
                deleteImage = false;
            }
            if (deleteImage)
            {
                foreach (string t in image.RepoTags) if (!untagged.Contains(t)) untagged.Add(t);
                foreach (string d in image.RepoDigests) if (!untagged.Contains(d)) untagged.Add(d);
                c.Execute(tx, "DELETE FROM images WHERE id = $i", ("$i", image.Id));
                deleted.Add(image.Id);
            }
        });
        WriteLayoutIndex();
        if (deleted.Count > 0) CollectGarbage();
        return new RemovalResult(untagged, deleted);
    }

    private static bool IsIdLike(string text, ContainerImage image)
    {
        string hex = text.StartsWith("sha256:", StringComparison.Ordinal) ? text[7..] : text;
        return hex.Length >= 4 && image.Id[7..].StartsWith(hex, StringComparison.Ordinal) && !image.RepoTags.Any(t => t == text || t.StartsWith(text + ":", StringComparison.Ordinal));
    }

    private static long RemainingReferences(SqliteConnection c, SqliteTransaction tx, string imageId)
    {
        using var cmd = c.Command(tx, "SELECT (SELECT count(*) FROM tags WHERE image_id = $i) + (SELECT count(*) FROM repo_digests WHERE image_id = $i)", ("$i", imageId));
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>What garbage collection removed.</summary>
    public sealed record GarbageResult(int Blobs, int Layers, long Bytes);

    /// <summary>
    /// Deletes blobs and unpacked layers that no image references, and temporary files of crashed sessions. Holds
    /// the store lock exclusively, so no import is between writing content and recording it.
    /// </summary>
    public GarbageResult CollectGarbage()
    {
        using var gcLock = FileLock.Acquire(Paths.StoreLock, exclusive: true);
        var (liveBlobs, liveLayers) = Db.Read(c =>
        {
            var blobs = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (id, manifest) in c.Query(null, "SELECT id, manifest_digest FROM images", r => (r.GetString(0), r.GetString(1))))
            {
                blobs.Add(id);
                blobs.Add(manifest);
            }
            foreach (string b in c.Query(null, "SELECT blob_digest FROM image_layers", r => r.GetString(0))) blobs.Add(b);
            var layers = c.Query(null, "SELECT DISTINCT chain_id FROM image_layers", r => r.GetString(0)).ToHashSet(StringComparer.Ordinal);
            return (blobs, layers);
        });
        int blobCount = 0, layerCount = 0;
        long bytes = 0;
        foreach (var blob in Blobs.All().ToList())
        {
            if (liveBlobs.Contains(blob.ToString())) continue;
            bytes += Blobs.SizeOf(blob);
            Blobs.Delete(blob);
            blobCount++;
        }
        foreach (var layer in Layers.All().ToList())
        {
            if (liveLayers.Contains(layer.ToString())) continue;
            Layers.Delete(layer);
            layerCount++;
        }
        Db.Write((c, tx) => c.Execute(tx, "DELETE FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM image_layers)"));
        foreach (string temp in Directory.EnumerateFileSystemEntries(Paths.Temp))
        {
            if (Directory.Exists(temp)) LayerStore.DeleteTree(temp);
            else File.Delete(temp);
        }
        return new GarbageResult(blobCount, layerCount, bytes);
    }

    /// <summary>
    /// Rewrites index.json of the store's OCI layout from the database, so `skopeo inspect oci:ROOT/image:TAG` and
    /// other OCI tools see the same images we do.
    /// </summary>
    public void WriteLayoutIndex()
    {
        // Shared store lock: garbage collection empties tmp/, where the new index is written before its rename.
        // The index lock: two sessions must not each read the database and then rename an older snapshot last.
        using var storeLock = FileLock.Acquire(Paths.StoreLock, exclusive: false);
        using var indexLock = FileLock.Acquire(Path.Combine(Paths.Root, "index.lock"), exclusive: true);
        var index = Db.Read(c => c.Query(null, """
            SELECT i.manifest_digest, i.manifest_media_type, t.name FROM images i LEFT JOIN tags t ON t.image_id = i.id ORDER BY t.name
            """, r => (Digest: r.GetString(0), MediaType: r.GetString(1), Tag: r.IsDBNull(2) ? null : r.GetString(2))));
        var document = new ImageIndex { MediaType = MediaTypes.OciIndex };
        foreach (var row in index)
        {
            var digest = Digest.Parse(row.Digest);
            if (!Blobs.Has(digest)) continue;
            var descriptor = new Descriptor { MediaType = row.MediaType, Digest = row.Digest, Size = Blobs.SizeOf(digest) };
            if (row.Tag is not null)
            {
                var reference = ImageReference.Parse(row.Tag);
                descriptor.Annotations = new Dictionary<string, string>
                {
                    ["io.containerd.image.name"] = reference.ToString(),
                    ["org.opencontainers.image.ref.name"] = reference.ToString(),
                };
            }
            document.Manifests.Add(descriptor);
        }
        AtomicFile.Write(Path.Combine(Paths.ImageLayout, "index.json"), JsonSerializer.SerializeToUtf8Bytes(document, OciJson.Options), Paths.Temp);
    }
}
