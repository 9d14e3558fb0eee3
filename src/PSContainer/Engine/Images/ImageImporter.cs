using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using PSContainer.Engine.Archives;
using PSContainer.Engine.Oci;
using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Images;

public enum ImageArchiveFormat { Auto, DockerArchive, OciLayout, RootFs }

/// <summary>The docker-import style settings of an image made from a plain root filesystem tar.</summary>
public sealed class RootFsImageOptions
{
    public string[]? Cmd { get; init; }
    public string[]? Entrypoint { get; init; }
    /// <summary>Environment variables (name, value) for the config's Env, checked as a container's are.</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Environment { get; init; }
    public string? WorkingDir { get; init; }
    public string? User { get; init; }
    public string[]? ExposedPorts { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public string? Message { get; init; }
    public string? Architecture { get; init; }
}

/// <summary>
/// Brings images into the store from the offline formats users have: docker save tars (legacy and OCI-based),
/// OCI image layouts (tar or directory) and plain root filesystem tars. Every blob is verified against its digest
/// and every layer against its config diff id before anything becomes visible; a failure leaves nothing behind.
/// </summary>
public sealed partial class ImageImporter
{
    private readonly ImageStore store;
    private readonly IProgress<ProgressInfo>? progress;
    private readonly CancellationToken cancel;
    private readonly SpaceGuard space;

    public ImageImporter(ImageStore store, IProgress<ProgressInfo>? progress = null, CancellationToken cancel = default)
    {
        this.store = store;
        this.progress = progress;
        this.cancel = cancel;
        space = SpaceGuard.For(store.Paths.Root);
    }

    public static string HostArchitecture => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.X86 => "386",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        Architecture.RiscV64 => "riscv64",
        _ => RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
    };

    /// <summary>Imports every image in <paramref name="path"/>; <paramref name="tags"/> are added to the (single) image.</summary>
    public IReadOnlyList<ContainerImage> Import(string path, ImageArchiveFormat format, IReadOnlyList<ImageReference> tags, RootFsImageOptions? rootFs)
    {
        path = Path.GetFullPath(path);
        // Checked before any work, and as New-Container checks a container's: an image's Env is a container's.
        if (rootFs?.Environment is { } environment) Containers.ContainerInputRules.ValidateEnvironment(environment);
        using var storeLock = store.LockForWriting();
        List<Digest> ids;
        if (Directory.Exists(path))
        {
            using var source = new DirectorySource(path);
            ids = ImportArchive(source, format, tags);
        }
        else if (File.Exists(path))
        {
            try
            {
                ids = ImportFile(path, format, tags, rootFs);
            }
            catch (DataIntegrityException e)
            {
                // Cut or damaged while the archive itself was read (a layer's own problems are named for the layer).
                throw DamagedData(e, path, $"'{path}'");
            }
        }
        else
        {
            throw new EngineException("ImportPathNotFound", ErrorKind.ObjectNotFound, path, $"Cannot find '{path}'.");
        }
        var all = store.List();
        return ids.Distinct().Select(id => all.First(i => i.Id == id.ToString())).ToList();
    }

    private List<Digest> ImportFile(string path, ImageArchiveFormat format, IReadOnlyList<ImageReference> tags, RootFsImageOptions? rootFs)
    {
        CompressionKind compression;
        using (var probe = File.OpenRead(path))
        {
            var head = new byte[8];
            int n = probe.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            compression = Compression.Detect(head.AsSpan(0, n));
        }
        if (format == ImageArchiveFormat.RootFs) return [ImportRootFs(path, tags, rootFs)];

        if (compression != CompressionKind.None)
        {
            // docker load takes compressed archives; we index archives by offset, so unpack it to a temp file first.
            if (format == ImageArchiveFormat.Auto && !CompressedTarLooksLikeArchive(path))
                return [ImportRootFs(path, tags, rootFs)];
            string temp = Path.Combine(store.Paths.Temp, TempOwner.NewName("archive", ".tar"));
            try
            {
                Report(0, "Decompressing " + Path.GetFileName(path), 0, 0);
                using (var input = Compression.OpenDecompressed(File.OpenRead(path), out _))
                using (var output = File.Create(temp))
                {
                    var buffer = new byte[1 << 17];
                    int n;
                    while ((n = input.Read(buffer)) > 0)
                    {
                        output.Write(buffer, 0, n);
                        space.Written(n);
                    }
                }
                using var source = OpenTar(temp, path);
                return ImportArchive(source, format, tags);
            }
            finally
            {
                File.Delete(temp);
            }
        }

        using (var source = OpenTar(path, path))
        {
            bool isArchive = source.Exists("manifest.json") || source.Exists("oci-layout");
            if (isArchive || format != ImageArchiveFormat.Auto) return ImportArchive(source, format, tags);
        }
        return [ImportRootFs(path, tags, rootFs)];
    }

    private static TarFileSource OpenTar(string file, string shownAs)
    {
        try
        {
            return new TarFileSource(file);
        }
        catch (InvalidDataException e)
        {
            throw new EngineException("ImportNotAnArchive", ErrorKind.InvalidData, shownAs, $"'{shownAs}' is not a tar archive: {e.Message}", e);
        }
    }

    private bool CompressedTarLooksLikeArchive(string path)
    {
        using var input = Compression.OpenDecompressed(File.OpenRead(path), out _);
        var reader = new TarReader(input);
        try
        {
            TarHeader? entry;
            while ((entry = reader.Next()) is not null)
            {
                cancel.ThrowIfCancellationRequested();
                string name = entry.Name.TrimStart('.', '/');
                if (name is "manifest.json" or "oci-layout") return true;
            }
        }
        catch (InvalidDataException e)
        {
            throw new EngineException("ImportNotAnArchive", ErrorKind.InvalidData, path, $"'{path}' is not a tar archive: {e.Message}", e);
        }
        return false;
    }

    private List<Digest> ImportArchive(IArchiveSource source, ImageArchiveFormat format, IReadOnlyList<ImageReference> tags)
    {
        bool docker = format == ImageArchiveFormat.DockerArchive || (format == ImageArchiveFormat.Auto && source.Exists("manifest.json"));
        bool oci = format == ImageArchiveFormat.OciLayout || (format == ImageArchiveFormat.Auto && !docker && source.Exists("index.json"));
        if (format == ImageArchiveFormat.RootFs)
            throw new EngineException("RootFsFromDirectory", ErrorKind.InvalidArgument, source.Description, "A root filesystem import takes a tar file, not a directory.");
        var staged = docker ? ImportDockerArchive(source) : oci ? ImportOciLayout(source)
            : throw new EngineException("ImportUnknownFormat", ErrorKind.InvalidData, source.Description,
                $"'{source.Description}' is neither a docker save archive (manifest.json) nor an OCI image layout (oci-layout, index.json).");
        try
        {
            if (tags.Count > 0)
            {
                int distinct = staged.Select(i => i.ConfigDigest).Distinct().Count();
                if (distinct != 1)
                    throw new EngineException("ImportNameNeedsOneImage", ErrorKind.InvalidArgument, source.Description,
                        $"'{source.Description}' holds {distinct} images; -Name can only tag a single image.");
            }
            // Everything is verified: only now does any of it become visible.
            var ids = new List<Digest>();
            foreach (var image in staged)
            {
                // A bare OCI ref.name tag (Domain "") applies to the repositories -Name gives.
                var own = image.Tags.Where(t => t.Domain.Length > 0);
                var bareTags = image.Tags.Where(t => t.Domain.Length == 0).Select(t => t.Tag!).ToList();
                var named = bareTags.Count == 0 ? tags : tags.SelectMany(n => bareTags.Select(t => n.WithTag(t))).Concat(tags);
                store.RecordImage(image.Commit(store), own.Concat(named).Distinct());
                ids.Add(image.ConfigDigest);
            }
            return ids;
        }
        finally
        {
            foreach (var image in staged) image.Dispose();
        }
    }

    // ---- images from elsewhere (registries) ------------------------------------------------------------------

    /// <summary>A layer blob to be read from somewhere (a registry): opened only if the store does not have it, with
    /// the token that stops it when the pull is stopped or another layer of the image failed.</summary>
    public sealed record LayerSource(Func<CancellationToken, Stream> Open, Descriptor Descriptor);

    /// <summary>
    /// Imports one image whose manifest and config are already in hand and whose layers are opened on demand
    /// (downloads). Layers are fetched in parallel, streamed through digest and diff-id verification, staged, and
    /// committed only when all of them are verified; a layer the store already pairs with its chain id is never
    /// opened. <paramref name="tags"/> may hold repository@digest references (recorded as RepoDigests).
    /// </summary>
    public ContainerImage ImportImage(byte[] manifestBytes, string manifestMediaType, byte[] configBytes, Digest configDigest,
        IReadOnlyList<LayerSource> layers, IReadOnlyList<ImageReference> tags)
    {
        using var storeLock = store.LockForWriting();
        var inputs = layers.Select(l =>
        {
            var digest = Digest.Parse(l.Descriptor.Digest, l.Descriptor.Digest);
            return new LayerInput(l.Open, digest, l.Descriptor.Size, l.Descriptor.MediaType, l.Descriptor.Size, digest.Short);
        }).ToList();
        using var staged = ImportImage(configBytes, configDigest, inputs, manifestBytes, manifestMediaType, "the registry", []);
        store.RecordImage(staged.Commit(store), tags);
        return store.List().First(i => i.Id == configDigest.ToString());
    }

    // ---- docker save ------------------------------------------------------------------------------------------

    private sealed class DockerArchiveEntry
    {
        [JsonPropertyName("Config")] public string Config { get; set; } = "";
        [JsonPropertyName("RepoTags")] public List<string>? RepoTags { get; set; }
        [JsonPropertyName("Layers")] public List<string> Layers { get; set; } = new();
    }

    private List<StagedImage> ImportDockerArchive(IArchiveSource source)
    {
        var entries = OciJson.Parse<List<DockerArchiveEntry>>(source.ReadSmall("manifest.json"), "docker archive manifest.json", source.Description);
        if (entries.Count == 0)
            throw new EngineException("ImportEmptyArchive", ErrorKind.InvalidData, source.Description, $"'{source.Description}' contains no images.");
        var result = new List<StagedImage>();
        foreach (var entry in entries)
        {
            if (!source.Exists(entry.Config))
                throw new EngineException("ArchiveMemberMissing", ErrorKind.InvalidData, source.Description, $"Image config '{entry.Config}' is not in {source.Description}.");
            byte[] configBytes = source.ReadSmall(entry.Config);
            Digest? expectedConfig = DigestFromPath(entry.Config);
            var tags = new List<ImageReference>();
            foreach (string tag in entry.RepoTags ?? [])
                tags.Add(ImageReference.Parse(tag));
            var layers = entry.Layers.Select(layerPath => new LayerInput(
                () => source.Open(layerPath), DigestFromPath(layerPath), null, null, source.SizeOf(layerPath), layerPath)).ToList();
            Stage(result, () => ImportImage(configBytes, expectedConfig, layers, null, null, source.Description, tags));
        }
        return result;
    }

    /// <summary>docker save names blobs by digest: "blobs/sha256/HEX" (docker 25+) or "HEX.json" (a legacy config).</summary>
    private static Digest? DigestFromPath(string path)
    {
        string p = path.TrimStart('.', '/');
        if (p.StartsWith("blobs/sha256/", StringComparison.Ordinal) && Digest.TryParse("sha256:" + p[13..], out var d)) return d;
        if (p.EndsWith(".json", StringComparison.Ordinal) && !p.Contains('/') && Digest.TryParse("sha256:" + p[..^5], out var c)) return c;
        return null;
    }

    // ---- OCI image layout -------------------------------------------------------------------------------------

    private List<StagedImage> ImportOciLayout(IArchiveSource source)
    {
        var index = OciJson.Parse<ImageIndex>(source.ReadSmall("index.json"), "OCI index.json", source.Description);
        var result = new List<StagedImage>();
        foreach (var top in index.Manifests)
        {
            var manifestDescriptor = SelectPlatform(source, top, 0);
            var tags = new List<ImageReference>();
            // io.containerd.image.name is a full reference. org.opencontainers.image.ref.name may be one too, or just a
            // tag ("v1", as umoci and skopeo write): a bare tag names nothing on its own, so it only tags the image
            // when -Name gives the repository (see ImportArchive).
            string? name = top.Annotations?.GetValueOrDefault("io.containerd.image.name");
            string? refName = top.Annotations?.GetValueOrDefault("org.opencontainers.image.ref.name");
            if (name is null && refName is not null && (refName.Contains('/') || refName.Contains(':'))) name = refName;
            if (name is not null && ImageReference.TryParse(name, true, out var reference, out _)) tags.Add(reference!);
            else if (refName is not null) tags.Add(new ImageReference("", "", refName, null));

            var manifestDigest = Digest.Parse(manifestDescriptor.Digest, source.Description);
            byte[] manifestBytes = ReadBlob(source, manifestDescriptor);
            var manifest = OciJson.Parse<Manifest>(manifestBytes, "image manifest", manifestDigest.ToString());
            byte[] configBytes = ReadBlob(source, manifest.Config);
            var layers = new List<LayerInput>();
            foreach (var layer in manifest.Layers)
            {
                if (!MediaTypes.IsLayer(layer.MediaType))
                    throw new EngineException("UnsupportedMediaType", ErrorKind.InvalidData, layer.MediaType, $"Layer media type '{layer.MediaType}' is not supported.");
                var digest = Digest.Parse(layer.Digest, source.Description);
                string blobPath = OciLayoutPaths.Blob(digest);
                if (!source.Exists(blobPath))
                    throw new EngineException("ArchiveMemberMissing", ErrorKind.InvalidData, source.Description,
                        $"Layer {digest} is not in {source.Description}" + (layer.Urls is { Count: > 0 } ? " (it is a foreign layer that would have to be downloaded)." : "."));
                layers.Add(new LayerInput(() => source.Open(blobPath), digest, layer.Size, layer.MediaType, layer.Size, digest.Short));
            }
            string mediaType = manifest.MediaType ?? manifestDescriptor.MediaType;
            if (!MediaTypes.IsManifest(mediaType))
                throw new EngineException("UnsupportedMediaType", ErrorKind.InvalidData, mediaType, $"Manifest media type '{mediaType}' is not supported.");
            Stage(result, () => ImportImage(configBytes, Digest.Parse(manifest.Config.Digest, source.Description), layers,
                manifestBytes, mediaType, source.Description, tags));
        }
        if (result.Count == 0)
            throw new EngineException("ImportEmptyArchive", ErrorKind.InvalidData, source.Description, $"'{source.Description}' contains no images.");
        return result;
    }

    private static byte[] ReadBlob(IArchiveSource source, Descriptor descriptor)
    {
        var digest = Digest.Parse(descriptor.Digest, source.Description);
        string path = OciLayoutPaths.Blob(digest);
        if (!source.Exists(path))
            throw new EngineException("ArchiveMemberMissing", ErrorKind.InvalidData, source.Description, $"Blob {digest} is not in {source.Description}.");
        byte[] bytes = source.ReadSmall(path);
        if (Digest.Compute(bytes) != digest)
            throw new EngineException("DigestMismatch", ErrorKind.InvalidData, digest.ToString(), $"Blob {digest} in {source.Description} does not match its digest.");
        if (descriptor.Size != 0 && descriptor.Size != bytes.Length)
            throw new EngineException("SizeMismatch", ErrorKind.InvalidData, digest.ToString(), $"Blob {digest} is {bytes.Length} bytes; its descriptor says {descriptor.Size}.");
        return bytes;
    }

    /// <summary>Follows an index (or docker manifest list) down to the manifest for this host's platform.</summary>
    private static Descriptor SelectPlatform(IArchiveSource source, Descriptor descriptor, int depth)
    {
        if (!MediaTypes.IsIndex(descriptor.MediaType)) return descriptor;
        if (depth > 4) throw new EngineException("IndexTooDeep", ErrorKind.InvalidData, source.Description, "Image indexes are nested too deeply.");
        var index = OciJson.Parse<ImageIndex>(ReadBlob(source, descriptor), "image index", descriptor.Digest);
        string arch = HostArchitecture;
        var candidates = index.Manifests.Where(m => m.Platform is null || (m.Platform.Os == "linux" && m.Platform.Architecture == arch)).ToList();
        var chosen = candidates.FirstOrDefault(m => m.Platform is not null) ?? candidates.FirstOrDefault();
        if (chosen is null)
        {
            string offered = string.Join(", ", index.Manifests.Select(m => m.Platform is null ? "?" : $"{m.Platform.Os}/{m.Platform.Architecture}{(m.Platform.Variant is null ? "" : "/" + m.Platform.Variant)}"));
            throw new EngineException("NoMatchingPlatform", ErrorKind.ObjectNotFound, descriptor.Digest,
                $"No image in index {descriptor.Digest} is for linux/{arch} (it has {offered}).");
        }
        return SelectPlatform(source, chosen, depth + 1);
    }

    // ---- root filesystem tar (docker import) ------------------------------------------------------------------

    /// <summary>Whether the last import read a root filesystem tar (docker import) rather than images (docker load).</summary>
    public bool ImportedRootFs { get; private set; }

    private Digest ImportRootFs(string path, IReadOnlyList<ImageReference> tags, RootFsImageOptions? options)
    {
        ImportedRootFs = true;
        options ??= new RootFsImageOptions();
        long size = new FileInfo(path).Length;
        using var staged = ImportLayer(new LayerInput(() => File.OpenRead(path), null, null, null, size, Path.GetFileName(path)), 1, null, null, null);
        var layer = staged.Commit(store);
        var created = DateTimeOffset.UtcNow;
        var config = new ImageConfigFile
        {
            Created = created,
            Architecture = options.Architecture ?? HostArchitecture,
            Os = "linux",
            Config = new ExecutionConfig
            {
                Cmd = options.Cmd?.ToList(),
                Entrypoint = options.Entrypoint?.ToList(),
                Env = options.Environment is { Count: > 0 } env
                    ? env.Select(e => $"{e.Key}={e.Value}").OrderBy(e => e, StringComparer.Ordinal).ToList()
                    : ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                WorkingDir = options.WorkingDir,
                User = options.User,
                ExposedPorts = options.ExposedPorts?.ToDictionary(p => p.Contains('/') ? p : p + "/tcp", _ => System.Text.Json.JsonDocument.Parse("{}").RootElement),
                Labels = options.Labels?.ToDictionary(kv => kv.Key, kv => kv.Value),
            },
            RootFs = new RootFs { DiffIds = [layer.DiffId.ToString()] },
            History = [new HistoryEntry { Created = created, CreatedBy = "Import-ContainerImage " + Path.GetFileName(path), Comment = options.Message ?? "Imported from " + Path.GetFileName(path) }],
        };
        byte[] configBytes = OciJson.Serialize(config);
        var configDigest = store.Blobs.Put(configBytes);
        var manifestBytes = SynthesizeManifest(configDigest, configBytes.Length, [layer]);
        var manifestDigest = store.Blobs.Put(manifestBytes);
        var record = new ImageRecord(configDigest, manifestDigest, MediaTypes.OciManifest, config,
            [new ImageLayerRecord(0, layer.ChainId, layer.DiffId, layer.BlobDigest, layer.MediaType, layer.BlobSize)], layer.UnpackedSize);
        store.RecordImage(record, tags);
        return configDigest;
    }

    // ---- common ---------------------------------------------------------------------------------------------

    /// <summary>An image whose every part is verified and staged; Commit makes it visible.</summary>
    private sealed class StagedImage(byte[] configBytes, Digest configDigest, ImageConfigFile config, StagedLayer[] layers,
        byte[]? manifestBytes, string? manifestMediaType, List<ImageReference> tags) : IDisposable
    {
        public Digest ConfigDigest => configDigest;
        public List<ImageReference> Tags => tags;

        public ImageRecord Commit(ImageStore store)
        {
            var imported = layers.Select(l => l.Commit(store)).ToList();
            store.Blobs.Put(configBytes, configDigest);
            string mediaType = manifestMediaType ?? MediaTypes.OciManifest;
            var manifestDigest = store.Blobs.Put(manifestBytes ?? SynthesizeManifest(configDigest, configBytes.Length, imported));
            return new ImageRecord(configDigest, manifestDigest, mediaType, config,
                imported.Select((l, i) => new ImageLayerRecord(i, l.ChainId, l.DiffId, l.BlobDigest, l.MediaType, l.BlobSize)).ToList(),
                imported.Sum(l => l.UnpackedSize));
        }

        public void Dispose()
        {
            foreach (var l in layers) l.Dispose();
        }
    }

    private static void Stage(List<StagedImage> into, Func<StagedImage> stage)
    {
        try
        {
            into.Add(stage());
        }
        catch
        {
            foreach (var image in into) image.Dispose();
            throw;
        }
    }

    private StagedImage ImportImage(byte[] configBytes, Digest? expectedConfig, IReadOnlyList<LayerInput> layers,
        byte[]? manifestBytes, string? manifestMediaType, string where, List<ImageReference> tags)
    {
        var configDigest = Digest.Compute(configBytes);
        if (expectedConfig is not null && expectedConfig.Value != configDigest)
            throw new EngineException("DigestMismatch", ErrorKind.InvalidData, expectedConfig.Value.ToString(),
                $"The image config in {where} does not match its digest: expected {expectedConfig}, got {configDigest}.");
        var config = OciJson.Parse<ImageConfigFile>(configBytes, "image config", configDigest.ToString());
        if (config.RootFs.DiffIds.Count != layers.Count)
            throw new EngineException("LayerCountMismatch", ErrorKind.InvalidData, configDigest.ToString(),
                $"The image config lists {config.RootFs.DiffIds.Count} layers but {where} has {layers.Count}.");
        var diffIds = config.RootFs.DiffIds.Select(d => Digest.Parse(d, configDigest.ToString())).ToList();
        var chainIds = Digest.ChainIds(diffIds);

        long total = layers.Sum(l => l.ProgressTotal);
        long done = 0;
        // The layers read in parallel: the parent bar is reported at most every 200 ms, not once per buffer.
        var sinceReport = Stopwatch.StartNew();
        long lastReport = 0;
        void CountBytes(long n)
        {
            long now = Interlocked.Add(ref done, n);
            long ms = sinceReport.ElapsedMilliseconds, last = Interlocked.Read(ref lastReport);
            if (ms - last >= 200 && Interlocked.CompareExchange(ref lastReport, ms, last) == last)
                Report(0, $"Importing image {configDigest.Short}", now, total);
        }
        Report(0, $"Importing image {configDigest.Short}", 0, total);
        var staged = StageLayers(layers.Count, (i, layerCancel) =>
            ImportLayer(layers[i], i + 1, diffIds[i], chainIds[i], i == 0 ? null : chainIds[i - 1], CountBytes, layerCancel));
        Report(0, $"Importing image {configDigest.Short}", total, total, completed: true);
        return new StagedImage(configBytes, configDigest, config, staged, manifestBytes, manifestMediaType, tags);
    }

    private static byte[] SynthesizeManifest(Digest configDigest, long configSize, IEnumerable<ImportedLayer> layers) =>
        OciJson.Serialize(new Manifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = configDigest.ToString(), Size = configSize },
            Layers = layers.Select(l => new Descriptor { MediaType = l.MediaType, Digest = l.BlobDigest.ToString(), Size = l.BlobSize }).ToList(),
        });

    /// <summary>A truncated, checksum-failing or corrupt archive or layer, each with its own error id.</summary>
    private static EngineException DamagedData(DataIntegrityException e, string target, string what) => e.Problem switch
    {
        DataProblem.Truncated => new EngineException("ArchiveTruncated", ErrorKind.InvalidData, target, $"{what} is truncated: {e.Message}.", e),
        DataProblem.ChecksumMismatch => new EngineException("ArchiveChecksumMismatch", ErrorKind.InvalidData, target, $"{what} is damaged: {e.Message}.", e),
        _ => new EngineException("ArchiveCorrupt", ErrorKind.InvalidData, target, $"{what} is corrupt: {e.Message}.", e),
    };

    private void Report(int id, string activity, long done, long total, bool completed = false, string? status = null) =>
        progress?.Report(new ProgressInfo(id, activity, status ?? (total > 0 ? $"{done / 1048576.0:F1} of {total / 1048576.0:F1} MiB" : "Working"), done, total, completed));
}
