using System.Security.Cryptography;
using System.Text.Json.Nodes;
using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Images;

// The store's half of commit and build: an image of given layers plus at most one new layer tar on top.
public sealed partial class ImageImporter
{
    /// <summary>
    /// Stores an image made of <paramref name="parentLayers"/> (none for FROM scratch) and, when
    /// <paramref name="layerTar"/> is given, one new top layer, with <paramref name="config"/> (its run settings
    /// already set) and <paramref name="history"/> appended to the config's history. The layer goes through the same
    /// staging as any import: its blob and unpacked directory are written under tmp/, checked against the diff id
    /// hashed here, and renamed into place, so the chain id names exactly these bytes and a killed commit or build
    /// leaves only tmp/ entries that the next writer removes.
    /// </summary>
    public ContainerImage ImportBuilt(IReadOnlyList<ImageLayerRecord> parentLayers, string? layerTar, JsonObject config,
        IReadOnlyList<HistoryEntry> history, IReadOnlyList<ImageReference> tags)
    {
        using var storeLock = store.LockForWriting();
        var layers = parentLayers.OrderBy(l => l.Position).Select((l, i) => l with { Position = i }).ToList();
        if (layerTar is not null)
        {
            Digest diffId;
            using (var file = File.OpenRead(layerTar)) diffId = Digest.FromHash(SHA256.HashData(file));
            var chainIds = Digest.ChainIds(layers.Select(l => l.DiffId).Append(diffId));
            Digest? parentChain = layers.Count == 0 ? null : layers[^1].ChainId;
            long size = new FileInfo(layerTar).Length;
            using var staged = ImportLayer(new LayerInput(() => File.OpenRead(layerTar), null, null, null, size, "commit"), 1, diffId, chainIds[^1], parentChain);
            var layer = staged.Commit(store);
            layers.Add(new ImageLayerRecord(layers.Count, layer.ChainId, layer.DiffId, layer.BlobDigest, layer.MediaType, layer.BlobSize));
        }

        // RFC 3339 in UTC with Z, as docker writes it: Go's time parser takes neither "+00:00" escaped nor a 7-digit offset form.
        config["created"] = (history.LastOrDefault()?.Created ?? DateTimeOffset.UtcNow).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var rootfs = config["rootfs"] as JsonObject ?? new JsonObject { ["type"] = "layers" };
        rootfs["diff_ids"] = new JsonArray(layers.Select(l => (JsonNode)JsonValue.Create(l.DiffId.ToString())!).ToArray());
        config["rootfs"] = rootfs;
        var historyList = config["history"] as JsonArray ?? new JsonArray();
        foreach (var entry in history) historyList.Add(System.Text.Json.JsonSerializer.SerializeToNode(entry, OciJson.Options));
        config["history"] = historyList;
        // The relaxed encoder: the default one writes '+' in times as \u002B, which Go's time.Time reads literally (docker load fails).
        byte[] configBytes = System.Text.Encoding.UTF8.GetBytes(config.ToJsonString(OciJson.Options));
        var parsed = OciJson.Parse<ImageConfigFile>(configBytes, "image config", "commit");
        var configDigest = store.Blobs.Put(configBytes);

        byte[] manifestBytes = OciJson.Serialize(new Manifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = configDigest.ToString(), Size = configBytes.Length },
            Layers = layers.Select(l => new Descriptor { MediaType = l.MediaType, Digest = l.BlobDigest.ToString(), Size = l.BlobSize }).ToList(),
        });
        var manifestDigest = store.Blobs.Put(manifestBytes);
        long total = layers.Sum(l => store.LayerSize(l.ChainId) ?? 0);
        store.RecordImage(new ImageRecord(configDigest, manifestDigest, MediaTypes.OciManifest, parsed, layers, total), tags);
        return store.List().First(i => i.Id == configDigest.ToString());
    }
}
