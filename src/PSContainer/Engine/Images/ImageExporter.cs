using System.Formats.Tar;
using System.Text.Json;
using System.Text.Json.Serialization;
using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Images;

public enum ImageExportFormat { DockerArchive, OciArchive }

/// <summary>
/// Writes images to a tar others load: a docker save archive (docker 25's layout: an OCI image layout plus
/// manifest.json and repositories, which docker load, podman load and skopeo's docker-archive: transport all
/// read) or a plain OCI image layout tar. Blobs are written as stored, so digests survive the round trip.
/// </summary>
public sealed class ImageExporter
{
    private readonly ImageStore store;
    private readonly IProgress<ProgressInfo>? progress;
    private readonly CancellationToken cancel;

    public ImageExporter(ImageStore store, IProgress<ProgressInfo>? progress = null, CancellationToken cancel = default)
    {
        this.store = store;
        this.progress = progress;
        this.cancel = cancel;
    }

    private sealed class DockerArchiveEntry
    {
        [JsonPropertyName("Config")] public string Config { get; set; } = "";
        [JsonPropertyName("RepoTags")] public List<string>? RepoTags { get; set; }
        [JsonPropertyName("Layers")] public List<string> Layers { get; set; } = new();
    }

    /// <param name="images">Each image with the names it is exported under (what the user asked for, or all its tags).</param>
    public void Export(IReadOnlyList<(ContainerImage Image, IReadOnlyList<ImageReference> Names)> images, string path, ImageExportFormat format)
    {
        string temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 17))
            {
                Write(images, file, format);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>The archive written straight to a stream (docker save's answer of the API); the caller owns the stream.</summary>
    public void Write(IReadOnlyList<(ContainerImage Image, IReadOnlyList<ImageReference> Names)> images, Stream output, ImageExportFormat format)
    {
        using var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        var written = new HashSet<string>(StringComparer.Ordinal);
        var index = new ImageIndex { MediaType = MediaTypes.OciIndex };
        var dockerManifest = new List<DockerArchiveEntry>();
        var repositories = new SortedDictionary<string, SortedDictionary<string, string>>(StringComparer.Ordinal);

        var all = images.Select(i => (i.Image, i.Names, Manifest: store.ReadManifest(i.Image))).ToList();
        long total = all.Sum(i => i.Manifest.Layers.Sum(l => l.Size) + i.Manifest.Config.Size);
        long done = 0;
        WriteFile(tar, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"u8.ToArray());

        foreach (var (image, names, manifest) in all)
        {
            cancel.ThrowIfCancellationRequested();
            var manifestDigest = Digest.Parse(image.ManifestDigest);
            var configDigest = Digest.Parse(manifest.Config.Digest);
            foreach (var blob in manifest.Layers.Select(l => Digest.Parse(l.Digest)).Prepend(configDigest).Append(manifestDigest))
            {
                string name = "blobs/sha256/" + blob.Hex;
                if (!written.Add(name)) continue;
                WriteBlob(tar, name, blob);
                done += store.Blobs.SizeOf(blob);
                progress?.Report(new ProgressInfo(0, "Exporting images", $"{done / 1048576.0:F1} of {total / 1048576.0:F1} MiB", done, total));
            }
            var descriptor = new Descriptor { MediaType = image.ManifestMediaType, Digest = image.ManifestDigest, Size = store.Blobs.SizeOf(manifestDigest) };
            if (names.Count == 0) index.Manifests.Add(descriptor);
            foreach (var name in names)
            {
                index.Manifests.Add(new Descriptor
                {
                    MediaType = descriptor.MediaType,
                    Digest = descriptor.Digest,
                    Size = descriptor.Size,
                    Annotations = new Dictionary<string, string>
                    {
                        ["io.containerd.image.name"] = name.ToString(),
                        ["org.opencontainers.image.ref.name"] = format == ImageExportFormat.OciArchive ? name.ToString() : name.Tag ?? "latest",
                    },
                });
                if (name.Tag is not null)
                {
                    if (!repositories.TryGetValue(name.FamiliarRepository, out var tags))
                        repositories[name.FamiliarRepository] = tags = new SortedDictionary<string, string>(StringComparer.Ordinal);
                    // "repositories" maps tags to the id of the top layer in the legacy format; docker only reads its keys.
                    tags[name.Tag] = manifest.Layers.Count > 0 ? Digest.Parse(manifest.Layers[^1].Digest).Hex : configDigest.Hex;
                }
            }
            dockerManifest.Add(new DockerArchiveEntry
            {
                Config = "blobs/sha256/" + configDigest.Hex,
                RepoTags = names.Where(n => n.Tag is not null).Select(n => n.FamiliarString).ToList(),
                Layers = manifest.Layers.Select(l => "blobs/sha256/" + Digest.Parse(l.Digest).Hex).ToList(),
            });
        }

        WriteFile(tar, "index.json", OciJson.Serialize(index));
        if (format == ImageExportFormat.DockerArchive)
        {
            WriteFile(tar, "manifest.json", JsonSerializer.SerializeToUtf8Bytes(dockerManifest, OciJson.Options));
            if (repositories.Count > 0) WriteFile(tar, "repositories", JsonSerializer.SerializeToUtf8Bytes(repositories, OciJson.Options));
        }
        progress?.Report(new ProgressInfo(0, "Exporting images", "Done", total, total, Completed: true));
    }

    private static PaxTarEntry NewEntry(string name, TarEntryType type)
    {
        var entry = new PaxTarEntry(type, name)
        {
            Mode = type == TarEntryType.Directory ? (UnixFileMode)0x1ED : (UnixFileMode)0x1A4,
            ModificationTime = DateTimeOffset.UnixEpoch,
        };
        return entry;
    }

    private static void WriteFile(TarWriter tar, string name, byte[] content)
    {
        var entry = NewEntry(name, TarEntryType.RegularFile);
        entry.DataStream = new MemoryStream(content, writable: false);
        tar.WriteEntry(entry);
    }

    private void WriteBlob(TarWriter tar, string name, Digest digest)
    {
        var entry = NewEntry(name, TarEntryType.RegularFile);
        using var blob = store.Blobs.Open(digest);
        entry.DataStream = blob;
        tar.WriteEntry(entry);
    }
}
