using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PSContainer.Engine;
using PSContainer.Engine.Images;
using PSContainer.Engine.Oci;
using PSContainer.Engine.Storage;
using Xunit;

namespace PSContainer.Tests;

public class BlobStoreTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly StatePaths paths;
    private readonly BlobStore blobs;

    public BlobStoreTests()
    {
        paths = new StatePaths(dir.Combine("root"), dir.Combine("run"));
        paths.EnsureCreated();
        blobs = new BlobStore(paths);
    }

    public void Dispose() => dir.Dispose();

    [Fact]
    public void PutComputesTheDigestAndStoresUnderIt()
    {
        var digest = blobs.Put("hello"u8);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData("hello"u8)), digest.ToString());
        Assert.True(blobs.Has(digest));
        Assert.Equal(Path.Combine(paths.Blobs, digest.Hex), blobs.PathOf(digest));
        Assert.Equal("hello"u8.ToArray(), blobs.ReadAll(digest));
        Assert.Equal(5, blobs.SizeOf(digest));
        Assert.Equal([digest], blobs.All());
        Assert.Empty(Directory.EnumerateFileSystemEntries(paths.Temp));
    }

    [Fact]
    public void PutWithTheWrongExpectedDigestThrowsAndStoresNothing()
    {
        var wrong = Digest.Compute("something else");
        var e = Assert.Throws<EngineException>(() => blobs.Put("hello"u8, wrong));
        Assert.Equal("DigestMismatch", e.ErrorId);
        Assert.False(blobs.Has(wrong));
        Assert.False(blobs.Has(Digest.Compute("hello")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(paths.Blobs));
        Assert.Empty(Directory.EnumerateFileSystemEntries(paths.Temp));
    }

    [Fact]
    public void ReadAllDetectsACorruptOrMissingBlob()
    {
        var d = blobs.Put("original"u8);
        File.WriteAllText(blobs.PathOf(d), "tampered");
        Assert.Equal("BlobCorrupt", Assert.Throws<EngineException>(() => blobs.ReadAll(d)).ErrorId);
        Assert.Equal("BlobNotFound", Assert.Throws<EngineException>(() => blobs.ReadAll(Digest.Compute("nope"))).ErrorId);
    }

    [Fact]
    public void OnlySha256IsStored()
    {
        var e = Assert.Throws<EngineException>(() => blobs.PathOf(new Digest("sha512", new string('a', 128))));
        Assert.Equal("UnsupportedDigest", e.ErrorId);
    }

    [Fact]
    public void PendingBlobDisposedWithoutCommitLeavesNothing()
    {
        using (var pending = blobs.Begin())
        {
            pending.Stream.Write(new byte[100_000]);
            Assert.Single(Directory.EnumerateFileSystemEntries(paths.Temp));
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(paths.Temp));
        Assert.Empty(blobs.All());
    }

    [Fact]
    public void PendingBlobCommitMovesItIntoPlace()
    {
        var data = Encoding.UTF8.GetBytes("pending content");
        var digest = Digest.Compute(data);
        using (var pending = blobs.Begin())
        {
            pending.Stream.Write(data);
            pending.Commit(digest);
        }
        Assert.Equal(data, blobs.ReadAll(digest));
        Assert.Empty(Directory.EnumerateFileSystemEntries(paths.Temp));
    }

    [Fact]
    public void AllIgnoresFilesThatAreNotDigests()
    {
        File.WriteAllText(Path.Combine(paths.Blobs, "junk"), "x");
        var d = blobs.Put("x"u8);
        Assert.Equal([d], blobs.All());
    }
}

public class ImageStoreTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly ImageStore store;

    public ImageStoreTests() => store = NewStore("store");

    public void Dispose() => dir.Dispose();

    private ImageStore NewStore(string name) => new(new StatePaths(dir.Combine(name, "root"), dir.Combine(name, "run")));

    // ---- builders ---------------------------------------------------------------------------------------------

    private static readonly byte[] BaseLayer = new RawTar()
        .Add("bin/", RawTar.Directory, mode: 0x1ED)
        .Add("bin/busybox", data: "BUSYBOX"u8.ToArray(), mode: 0x1ED)
        .Add("bin/sh", RawTar.HardLink, link: "bin/busybox")
        .Add("etc/", RawTar.Directory)
        .File1("etc/motd", "hello")
        .Add("dev/null", RawTar.CharDevice, mode: 0x1B6, major: 1, minor: 3)
        .ToArray();

    private static readonly byte[] TopLayer = new RawTar().File1("app/run.sh", "#!/bin/sh\necho app\n", 0x1ED).Add("etc/.wh.motd").ToArray();

    private static string Sha(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    private static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    private static byte[] ConfigJson(IEnumerable<string> diffIds, string cmd = "/bin/sh") => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["architecture"] = "amd64",
        ["os"] = "linux",
        ["created"] = "2024-01-02T03:04:05Z",
        ["config"] = new Dictionary<string, object> { ["Cmd"] = new[] { cmd }, ["Env"] = new[] { "A=1" }, ["WorkingDir"] = "/app" },
        ["rootfs"] = new Dictionary<string, object> { ["type"] = "layers", ["diff_ids"] = diffIds.ToArray() },
    });

    /// <summary>A docker save archive written by hand: blobs/sha256/HEX members, manifest.json with Config/Layers/RepoTags.</summary>
    private string DockerArchive(string name, IReadOnlyList<byte[]> blobs, IReadOnlyList<string> diffIds, string[] repoTags,
        Func<int, string>? layerPathOverride = null, string? configPathOverride = null)
    {
        byte[] config = ConfigJson(diffIds);
        string configPath = configPathOverride ?? "blobs/sha256/" + Sha(config)[7..];
        var layerPaths = blobs.Select((b, i) => layerPathOverride?.Invoke(i) ?? "blobs/sha256/" + Sha(b)[7..]).ToList();
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new[]
        {
            new Dictionary<string, object> { ["Config"] = configPath, ["RepoTags"] = repoTags, ["Layers"] = layerPaths },
        });
        string path = dir.Combine(name);
        using var file = File.Create(path);
        using var tar = new TarWriter(file, TarEntryFormat.Pax);
        void Write(string member, byte[] content) =>
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, member) { DataStream = new MemoryStream(content) });
        Write(configPath, config);
        for (int i = 0; i < blobs.Count; i++) Write(layerPaths[i], blobs[i]);
        Write("manifest.json", manifest);
        return path;
    }

    private string WriteFile(string name, byte[] content)
    {
        string path = dir.Combine(name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static List<ImageReference> Tags(params string[] names) => names.Select(n => ImageReference.Parse(n)).ToList();

    private ContainerImage ImportRootFs(ImageStore s, byte[] tar, RootFsImageOptions? options = null, params string[] tags) =>
        Assert.Single(new ImageImporter(s).Import(WriteFile($"rootfs-{Guid.NewGuid():N}.tar", tar), ImageArchiveFormat.RootFs, Tags(tags), options));

    /// <summary>Every file under the state root (with its content hash) and every database row.</summary>
    private static string StoreState(ImageStore s)
    {
        var sb = new StringBuilder();
        string root = s.Paths.Root;
        foreach (string entry in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string rel = Path.GetRelativePath(root, entry);
            if (rel is "state.db" or "state.db-wal" or "state.db-shm" or "store.lock") continue;
            sb.Append(rel);
            var st = Posix.Stat(entry);
            if (st.IsRegular) sb.Append(' ').Append(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(entry))));
            sb.Append('\n');
        }
        s.Db.Read(c =>
        {
            foreach (string table in new[] { "images", "image_layers", "tags", "repo_digests", "layers" })
            {
                using var cmd = c.CreateCommand();
                cmd.CommandText = $"SELECT * FROM {table} ORDER BY 1, 2";
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    sb.Append(table).Append(':');
                    for (int i = 0; i < r.FieldCount; i++) sb.Append(' ').Append(r.IsDBNull(i) ? "NULL" : r.GetValue(i).ToString());
                    sb.Append('\n');
                }
            }
            return 0;
        });
        return sb.ToString();
    }

    private static void AssertSameState(string before, ImageStore s)
    {
        string after = StoreState(s);
        var b = before.Split('\n').ToHashSet();
        var a = after.Split('\n').ToHashSet();
        var added = a.Except(b).ToList();
        var removed = b.Except(a).ToList();
        Assert.True(added.Count == 0 && removed.Count == 0,
            $"The store changed.\nAdded:\n  {string.Join("\n  ", added)}\nRemoved:\n  {string.Join("\n  ", removed)}");
    }

    private static void AssertEmptyStore(ImageStore s)
    {
        Assert.Empty(s.List());
        Assert.Empty(s.Blobs.All());
        Assert.Empty(s.Layers.All());
        Assert.Empty(Directory.EnumerateFileSystemEntries(s.Paths.Layers));
        Assert.Empty(Directory.EnumerateFileSystemEntries(s.Paths.Blobs));
        Assert.Empty(Directory.EnumerateFileSystemEntries(s.Paths.Temp));
        Assert.Equal(0L, s.Db.Read(c =>
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT (SELECT count(*) FROM layers) + (SELECT count(*) FROM image_layers) + (SELECT count(*) FROM tags)";
            return (long)cmd.ExecuteScalar()!;
        }));
    }

    // ---- root filesystem import, queries, tags ------------------------------------------------------------------

    [Fact]
    public void RootFsImportCreatesAnImageWithOneUnpackedLayer()
    {
        var image = ImportRootFs(store, BaseLayer, new RootFsImageOptions { Cmd = ["/bin/sh", "-c", "echo"], Labels = new Dictionary<string, string> { ["k"] = "v" } }, "app:1");
        Assert.StartsWith("sha256:", image.Id);
        Assert.Equal(["app:1"], image.RepoTags);
        Assert.Equal(["/bin/sh", "-c", "echo"], image.Config.Cmd);
        Assert.Contains(image.Config.Env, e => e.StartsWith("PATH=", StringComparison.Ordinal));
        Assert.Equal("v", image.Config.Labels["k"]);
        Assert.Equal([Sha(BaseLayer)], image.Layers);
        Assert.Equal("linux", image.Os);
        Assert.Equal(ImageImporter.HostArchitecture, image.Architecture);

        // Config blob is the id; the layer is unpacked under its chain id (= diff id for a single layer).
        Assert.Equal(image.Id, Digest.Compute(store.Blobs.ReadAll(Digest.Parse(image.Id))).ToString());
        var chain = Digest.Parse(Sha(BaseLayer));
        Assert.True(store.Layers.Has(chain));
        string diff = store.Layers.DiffOf(chain);
        Assert.Equal("BUSYBOX", File.ReadAllText(Path.Combine(diff, "bin/sh")));
        Assert.True(Posix.Stat(Path.Combine(diff, "dev/null")).IsCharDevice);
        Assert.Equal(BaseLayer, store.Blobs.ReadAll(store.LayersOf(image.Id)[0].BlobDigest));
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.Paths.Temp));
        // The store's OCI layout names the image.
        string index = File.ReadAllText(Path.Combine(store.Paths.ImageLayout, "index.json"));
        Assert.Contains("docker.io/library/app:1", index);
        Assert.Contains(image.ManifestDigest, index);
    }

    [Fact]
    public void FindByNameShortIdFullIdAndHex()
    {
        var image = ImportRootFs(store, BaseLayer, null, "app:1");
        Assert.Equal(image.Id, store.Find("app:1")?.Id);
        Assert.Equal(image.Id, store.Find("docker.io/library/app:1")?.Id);
        Assert.Equal(image.Id, store.Find(image.ShortId)?.Id);
        Assert.Equal(12, image.ShortId.Length);
        Assert.Equal(image.Id, store.Find(image.Id)?.Id);
        Assert.Equal(image.Id, store.Find(image.Id[7..])?.Id);
        Assert.Equal(image.Id, store.Find(image.Id[..11])?.Id); // "sha256:" + 4 hex digits
        Assert.Null(store.Find("app")); // app:latest does not exist
        Assert.Null(store.Find("other:1"));
        Assert.Equal("ImageNotFound", Assert.Throws<EngineException>(() => store.Get("other:1")).ErrorId);
        Assert.Single(store.List());
    }

    [Fact]
    public void AddTagPointsANewNameAtTheImage()
    {
        var image = ImportRootFs(store, BaseLayer, null, "app:1");
        store.AddTag(image, ImageReference.Parse("localhost:5000/team/app:2"));
        var again = store.Get("app:1");
        Assert.Equal(["app:1", "localhost:5000/team/app:2"], again.RepoTags.Order(StringComparer.Ordinal));
        Assert.Equal(image.Id, store.Find("localhost:5000/team/app:2")?.Id);
        Assert.Equal("TagIsDigest", Assert.Throws<EngineException>(() => store.AddTag(image, ImageReference.Parse("x@" + image.Id))).ErrorId);
    }

    [Fact]
    public void MovingATagToAnotherImageUntagsTheFirst()
    {
        var first = ImportRootFs(store, BaseLayer, new RootFsImageOptions { Cmd = ["one"] }, "app:latest");
        var second = ImportRootFs(store, BaseLayer, new RootFsImageOptions { Cmd = ["two"] }, "app:latest");
        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal(second.Id, store.Get("app").Id);
        Assert.Empty(store.Get(first.Id).RepoTags);
    }

    [Fact]
    public void RemoveByTagUntagsUntilTheLastTag()
    {
        var image = ImportRootFs(store, BaseLayer, null, "app:1", "app:2");
        var r = store.Remove("app:1", force: false);
        Assert.Equal(["app:1"], r.Untagged);
        Assert.Empty(r.Deleted);
        Assert.Equal(["app:2"], store.Get(image.Id).RepoTags);

        r = store.Remove("app:2", force: false);
        Assert.Equal([image.Id], r.Deleted);
        Assert.Contains("app:2", r.Untagged);
        AssertEmptyStore(store);
    }

    [Fact]
    public void RemoveByIdOfAMultiTaggedImageNeedsForce()
    {
        var image = ImportRootFs(store, BaseLayer, null, "app:1", "app:2");
        string state = StoreState(store);
        var e = Assert.Throws<EngineException>(() => store.Remove(image.ShortId, force: false));
        Assert.Equal("ImageHasMultipleTags", e.ErrorId);
        AssertSameState(state, store);

        var r = store.Remove(image.ShortId, force: true);
        Assert.Equal([image.Id], r.Deleted);
        Assert.Equal(["app:1", "app:2"], r.Untagged.Order(StringComparer.Ordinal));
        AssertEmptyStore(store);
    }

    [Fact]
    public void RemoveByIdOfASingleTaggedImageDeletesIt()
    {
        var image = ImportRootFs(store, BaseLayer, null, "app:1");
        var r = store.Remove(image.Id, force: false);
        Assert.Equal([image.Id], r.Deleted);
        AssertEmptyStore(store);
    }

    [Fact]
    public void ImageInUseIsNotDeletedWithoutForce()
    {
        var image = ImportRootFs(store, BaseLayer, null, "app:1");
        store.ImagesInUse = () => new HashSet<string> { image.Id };
        Assert.Equal("ImageInUse", Assert.Throws<EngineException>(() => store.Remove("app:1", force: false)).ErrorId);
        Assert.Equal(image.Id, store.Get("app:1").Id); // the refused removal did not even untag
        // Forced, an image in use only loses its names: its layers are a container's lower dirs (docker rmi -f).
        var forced = store.Remove("app:1", force: true);
        Assert.Empty(forced.Deleted);
        Assert.Contains("app:1", forced.Untagged);
        Assert.Empty(store.Get(image.Id).RepoTags);
        Assert.NotEmpty(store.Layers.All());
        // Once no container uses it, it can be deleted.
        store.ImagesInUse = () => new HashSet<string>();
        store.Remove(image.Id, force: false);
        AssertEmptyStore(store);
    }

    [Fact]
    public void GarbageCollectionKeepsLayersSharedWithALiveImage()
    {
        var one = ImportRootFs(store, BaseLayer, new RootFsImageOptions { Cmd = ["one"] }, "one:1");
        var two = ImportRootFs(store, BaseLayer, new RootFsImageOptions { Cmd = ["two"] }, "two:1");
        var chain = Digest.Parse(Sha(BaseLayer));
        Assert.Single(store.Layers.All());

        store.Remove("one:1", force: false);
        Assert.True(store.Layers.Has(chain));
        Assert.False(store.Blobs.Has(Digest.Parse(one.Id)));
        Assert.True(store.Blobs.Has(Digest.Parse(two.Id)));
        Assert.True(store.Blobs.Has(Digest.Parse(two.ManifestDigest)));
        Assert.True(store.Blobs.Has(chain)); // the uncompressed layer blob's digest is its diff id

        var gc = store.CollectGarbage();
        Assert.Equal((0, 0), (gc.Blobs, gc.Layers));

        store.Remove("two:1", force: false);
        AssertEmptyStore(store);
    }

    [Fact]
    public void GarbageCollectionRemovesOrphansAndTempFiles()
    {
        ImportRootFs(store, BaseLayer, null, "app:1");
        var orphan = store.Blobs.Put("orphan"u8);
        Directory.CreateDirectory(Path.Combine(store.Paths.Layers, new string('c', 64), "diff"));
        File.WriteAllText(Path.Combine(store.Paths.Temp, "blob-crashed"), "x");
        Directory.CreateDirectory(Path.Combine(store.Paths.Temp, "layer-crashed", "diff", "d"));
        var gc = store.CollectGarbage();
        Assert.Equal((1, 1), (gc.Blobs, gc.Layers));
        Assert.False(store.Blobs.Has(orphan));
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.Paths.Temp));
        Assert.Single(store.Layers.All());
        Assert.NotNull(store.Find("app:1"));
    }

    [Fact]
    public void HostileRootFsIsRefusedAndLeavesNothing()
    {
        ImportRootFs(store, BaseLayer, null, "base:1");
        string state = StoreState(store);
        var tar = new RawTar().File1("ok", "ok").File1("../../escape", "x").ToArray();
        var e = Assert.Throws<EngineException>(() => new ImageImporter(store).Import(WriteFile("evil.tar", tar), ImageArchiveFormat.RootFs, Tags("evil:1"), null));
        Assert.Equal("LayerPathEscapes", e.ErrorId);
        AssertSameState(state, store);
        Assert.False(File.Exists(Path.Combine(dir.Path, "escape")));
    }

    [Fact]
    public void ImportOfAMissingPathFails()
    {
        var e = Assert.Throws<EngineException>(() => new ImageImporter(store).Import(dir.Combine("nope.tar"), ImageArchiveFormat.Auto, [], null));
        Assert.Equal("ImportPathNotFound", e.ErrorId);
    }

    [Fact]
    public void FindPrefersATagOverAnIdPrefixLikeDocker()
    {
        // docker resolves a short argument as a reference (tag) first and only then as an id prefix, so
        // `docker rmi cafe12` with an image tagged cafe12 untags that image, whatever other image's id starts so.
        var byId = ImportRootFs(store, BaseLayer, new RootFsImageOptions { Cmd = ["b"] }, "b:1");
        string prefix = byId.Id[7..13];
        var byTag = ImportRootFs(store, TopLayer, new RootFsImageOptions { Cmd = ["a"] }, prefix);
        Assert.False(byTag.Id[7..].StartsWith(prefix, StringComparison.Ordinal));
        Assert.Equal(byTag.Id, store.Find(prefix)?.Id);
        Assert.Equal(byTag.Id, store.Find(prefix + ":latest")?.Id);
    }

    [Fact]
    public void AutoFormatImportsPlainAndCompressedRootFsTars()
    {
        var plain = Assert.Single(new ImageImporter(store).Import(WriteFile("plain.tar", BaseLayer), ImageArchiveFormat.Auto, Tags("plain:1"), null));
        Assert.Equal([Sha(BaseLayer)], plain.Layers);
        var gz = Assert.Single(new ImageImporter(store).Import(WriteFile("rootfs.tar.gz", Gzip(TopLayer)), ImageArchiveFormat.Auto, Tags("gz:1"), null));
        Assert.Equal([Sha(TopLayer)], gz.Layers);
        Assert.Equal(MediaTypes.OciLayerGzip, store.LayersOf(gz.Id)[0].MediaType);
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.Paths.Temp));
    }

    [Fact]
    public void GzipCompressedDockerArchiveImportsAndLeavesNoTempFile()
    {
        string archive = DockerArchive("plain-archive.tar", [BaseLayer], [Sha(BaseLayer)], ["gzarchive:1"]);
        string gz = WriteFile("archive.tar.gz", Gzip(File.ReadAllBytes(archive)));
        var image = Assert.Single(new ImageImporter(store).Import(gz, ImageArchiveFormat.Auto, [], null));
        Assert.Equal(["gzarchive:1"], image.RepoTags);
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.Paths.Temp));
    }

    [Fact]
    public void NotATarIsReportedAsSuch()
    {
        string junk = WriteFile("junk.tar", Encoding.ASCII.GetBytes(new string('j', 4096)));
        var e = Assert.Throws<EngineException>(() => new ImageImporter(store).Import(junk, ImageArchiveFormat.DockerArchive, [], null));
        Assert.Equal("ImportNotAnArchive", e.ErrorId);
        AssertEmptyStore(store);
    }

    [Fact]
    public void NamingAnArchiveOfTwoImagesFailsAndLeavesNothing()
    {
        byte[] config1 = ConfigJson([Sha(BaseLayer)], "one"), config2 = ConfigJson([Sha(TopLayer)], "two");
        string H(byte[] b) => "blobs/sha256/" + Sha(b)[7..];
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new[]
        {
            new Dictionary<string, object> { ["Config"] = H(config1), ["RepoTags"] = new[] { "one:1" }, ["Layers"] = new[] { H(BaseLayer) } },
            new Dictionary<string, object> { ["Config"] = H(config2), ["RepoTags"] = new[] { "two:1" }, ["Layers"] = new[] { H(TopLayer) } },
        });
        string path = dir.Combine("two-images.tar");
        using (var file = File.Create(path))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax))
        {
            foreach (var (name, content) in new[] { (H(config1), config1), (H(config2), config2), (H(BaseLayer), BaseLayer), (H(TopLayer), TopLayer), ("manifest.json", manifest) })
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        }
        ImportRootFs(store, new RawTar().File1("unrelated", "u").ToArray(), null, "existing:1");
        string state = StoreState(store);
        var e = Assert.Throws<EngineException>(() => new ImageImporter(store).Import(path, ImageArchiveFormat.Auto, Tags("name:1"), null));
        Assert.Equal("ImportNameNeedsOneImage", e.ErrorId);
        AssertSameState(state, store);

        // Without a name both import.
        var both = new ImageImporter(store).Import(path, ImageArchiveFormat.Auto, [], null);
        Assert.Equal(2, both.Count);
    }

    [Fact]
    public void OciLayoutDirectoryImports()
    {
        var image = ImportRootFs(store, BaseLayer, new RootFsImageOptions { Cmd = ["oci"] }, "oci:1");
        string exported = dir.Combine("oci.tar");
        new ImageExporter(store).Export([(image, Tags("oci:1"))], exported, ImageExportFormat.OciArchive);
        string layout = dir.CreateDirectory("layout");
        Posix.Run("tar", "-xf", exported, "-C", layout);
        Assert.True(File.Exists(Path.Combine(layout, "oci-layout")));
        Assert.False(File.Exists(Path.Combine(layout, "manifest.json")));

        var fresh = NewStore("fresh-oci");
        var again = Assert.Single(new ImageImporter(fresh).Import(layout, ImageArchiveFormat.Auto, [], null));
        Assert.Equal(image.Id, again.Id);
        Assert.Equal(image.ManifestDigest, again.ManifestDigest);
        Assert.Equal(["oci:1"], again.RepoTags);
    }

    // ---- docker save archives -------------------------------------------------------------------------------

    [Fact]
    public void DockerArchiveWithGzipAndPlainLayersImports()
    {
        byte[] top = Gzip(TopLayer);
        string archive = DockerArchive("img.tar", [BaseLayer, top], [Sha(BaseLayer), Sha(TopLayer)], ["registry.local:5000/team/app:v1"]);
        var image = Assert.Single(new ImageImporter(store).Import(archive, ImageArchiveFormat.Auto, Tags("extra:1"), null));

        Assert.Equal(Sha(ConfigJson([Sha(BaseLayer), Sha(TopLayer)])), image.Id);
        Assert.Equal(["extra:1", "registry.local:5000/team/app:v1"], image.RepoTags.Order(StringComparer.Ordinal));
        Assert.Equal([Sha(BaseLayer), Sha(TopLayer)], image.Layers);
        Assert.Equal(["/bin/sh"], image.Config.Cmd);
        Assert.Equal("/app", image.Config.WorkingDir);
        Assert.Equal(new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc), image.Created?.ToUniversalTime());

        var layers = store.LayersOf(image.Id);
        var chains = Digest.ChainIds([Digest.Parse(Sha(BaseLayer)), Digest.Parse(Sha(TopLayer))]);
        Assert.Equal(chains, layers.Select(l => l.ChainId));
        Assert.Equal(Sha(top), layers[1].BlobDigest.ToString());
        string topDiff = store.Layers.DiffOf(chains[1]);
        Assert.Equal("#!/bin/sh\necho app\n", File.ReadAllText(Path.Combine(topDiff, "app/run.sh")));
        Assert.True(Posix.Stat(Path.Combine(topDiff, "etc/motd")).IsCharDevice); // the whiteout
        Assert.Equal(top, store.Blobs.ReadAll(layers[1].BlobDigest)); // stored as given (compressed)
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.Paths.Temp));

        // Importing the same archive again changes nothing but the added time.
        new ImageImporter(store).Import(archive, ImageArchiveFormat.Auto, [], null);
        Assert.Single(store.List());
        Assert.Equal(2, store.Layers.All().Count());
    }

    [Fact]
    public void DockerArchiveWithZstdLayerImports()
    {
        var ms = new MemoryStream();
        using (var z = new SharpCompress.Compressors.ZStandard.CompressionStream(ms, 3, 0, leaveOpen: true)) z.Write(BaseLayer);
        string archive = DockerArchive("zstd.tar", [ms.ToArray()], [Sha(BaseLayer)], ["z:1"]);
        var image = Assert.Single(new ImageImporter(store).Import(archive, ImageArchiveFormat.DockerArchive, [], null));
        Assert.Equal([Sha(BaseLayer)], image.Layers);
        Assert.Equal(MediaTypes.OciLayerZstd, store.LayersOf(image.Id)[0].MediaType);
    }

    [Fact]
    public void WrongDiffIdFailsAndLeavesTheStoreAsItWas()
    {
        ImportRootFs(store, TopLayer, null, "existing:1");
        string state = StoreState(store);
        string archive = DockerArchive("bad.tar", [Gzip(BaseLayer)], [Sha(TopLayer.Concat(new byte[] { 1 }).ToArray())], ["bad:1"]);
        var e = Assert.Throws<EngineException>(() => new ImageImporter(store).Import(archive, ImageArchiveFormat.Auto, [], null));
        Assert.Equal("DiffIdMismatch", e.ErrorId);
        AssertSameState(state, store);
    }

    [Fact]
    public void WrongDiffIdOfOneLayerLeavesNoOtherLayerBehind()
    {
        // The importer promises: "every layer [is verified] against its config diff id before anything becomes
        // visible; a failure leaves nothing behind". Here the first layer is good and the second is not.
        ImportRootFs(store, new RawTar().File1("unrelated", "u").ToArray(), null, "existing:1");
        string state = StoreState(store);
        string archive = DockerArchive("bad2.tar", [BaseLayer, TopLayer], [Sha(BaseLayer), Sha(BaseLayer)], ["bad:1"]);
        var e = Assert.Throws<EngineException>(() => new ImageImporter(store).Import(archive, ImageArchiveFormat.Auto, [], null));
        Assert.Equal("DiffIdMismatch", e.ErrorId);
        AssertSameState(state, store);
    }

    [Fact]
    public void LayerWhoseNameDoesNotMatchItsContentFailsAndLeavesTheStoreAsItWas()
    {
        ImportRootFs(store, TopLayer, null, "existing:1");
        string state = StoreState(store);
        string lie = "blobs/sha256/" + Sha("not the layer"u8.ToArray())[7..];
        string archive = DockerArchive("lie.tar", [BaseLayer], [Sha(BaseLayer)], ["lie:1"], layerPathOverride: _ => lie);
        var e = Assert.Throws<EngineException>(() => new ImageImporter(store).Import(archive, ImageArchiveFormat.Auto, [], null));
        Assert.Equal("DigestMismatch", e.ErrorId);
        AssertSameState(state, store);
    }

    [Fact]
    public void LayerNamedLikeABlobTheStoreHasIsStillVerified()
    {
        // The store already has TopLayer's blob and layer; an archive claims TopLayer's digest for other bytes.
        ImportRootFs(store, TopLayer, null, "existing:1");
        string state = StoreState(store);
        string archive = DockerArchive("lie2.tar", [BaseLayer], [Sha(BaseLayer)], ["lie:1"], layerPathOverride: _ => "blobs/sha256/" + Sha(TopLayer)[7..]);
        var e = Assert.Throws<EngineException>(() => new ImageImporter(store).Import(archive, ImageArchiveFormat.Auto, [], null));
        Assert.Equal("DigestMismatch", e.ErrorId);
        AssertSameState(state, store);
    }

    [Fact]
    public void ConfigWhoseNameDoesNotMatchItsContentFails()
    {
        string archive = DockerArchive("cfg.tar", [BaseLayer], [Sha(BaseLayer)], ["c:1"], configPathOverride: "blobs/sha256/" + new string('0', 64));
        var e = Assert.Throws<EngineException>(() => new ImageImporter(store).Import(archive, ImageArchiveFormat.Auto, [], null));
        Assert.Equal("DigestMismatch", e.ErrorId);
        AssertEmptyStore(store);
    }

    [Fact]
    public void LayerCountThatDiffersFromTheConfigFails()
    {
        string archive = DockerArchive("count.tar", [BaseLayer, TopLayer], [Sha(BaseLayer)], ["c:1"]);
        var e = Assert.Throws<EngineException>(() => new ImageImporter(store).Import(archive, ImageArchiveFormat.Auto, [], null));
        Assert.Equal("LayerCountMismatch", e.ErrorId);
        AssertEmptyStore(store);
    }

    // ---- export round trip ------------------------------------------------------------------------------------

    [Theory]
    [InlineData(ImageExportFormat.DockerArchive)]
    [InlineData(ImageExportFormat.OciArchive)]
    public void ExportedImageReimportsWithTheSameId(ImageExportFormat format)
    {
        string archive = DockerArchive("src.tar", [BaseLayer, Gzip(TopLayer)], [Sha(BaseLayer), Sha(TopLayer)], ["app:1"]);
        var image = Assert.Single(new ImageImporter(store).Import(archive, ImageArchiveFormat.Auto, Tags("localhost:5000/app:2"), null));

        string exported = dir.Combine("exported.tar");
        var names = image.RepoTags.Select(t => ImageReference.Parse(t)).ToList();
        new ImageExporter(store).Export([(image, names)], exported, format);
        Assert.Empty(Directory.EnumerateFiles(dir.Path, ".exported.tar.*"));

        var fresh = NewStore("fresh");
        var again = Assert.Single(new ImageImporter(fresh).Import(exported, ImageArchiveFormat.Auto, [], null));
        Assert.Equal(image.Id, again.Id);
        Assert.Equal(image.Layers, again.Layers);
        Assert.Equal(image.RepoTags.Order(StringComparer.Ordinal), again.RepoTags.Order(StringComparer.Ordinal));
        Assert.Equal(store.LayersOf(image.Id).Select(l => l.BlobDigest), fresh.LayersOf(again.Id).Select(l => l.BlobDigest));
        if (format == ImageExportFormat.OciArchive) Assert.Equal(image.ManifestDigest, again.ManifestDigest);
        var chain = fresh.LayersOf(again.Id)[1].ChainId;
        Assert.Equal("#!/bin/sh\necho app\n", File.ReadAllText(Path.Combine(fresh.Layers.DiffOf(chain), "app/run.sh")));
    }

    [Fact]
    public void ExportedRootFsImageReimports()
    {
        var image = ImportRootFs(store, BaseLayer, new RootFsImageOptions { Cmd = ["sh"] }, "rootfs:1");
        string exported = dir.Combine("rootfs-export.tar");
        new ImageExporter(store).Export([(image, Tags("rootfs:1"))], exported, ImageExportFormat.DockerArchive);
        var fresh = NewStore("fresh2");
        var again = Assert.Single(new ImageImporter(fresh).Import(exported, ImageArchiveFormat.Auto, [], null));
        Assert.Equal(image.Id, again.Id);
        Assert.Equal(["rootfs:1"], again.RepoTags);
        Assert.Equal(["sh"], again.Config.Cmd);
    }
}
