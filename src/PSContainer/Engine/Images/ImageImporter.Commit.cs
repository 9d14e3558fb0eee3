using System.Security.Cryptography;
using System.Text.Json.Nodes;
using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Images;

// docker commit's half of the store: one new layer (a container's changes as an OCI layer tar) on top of an image's.
public sealed partial class ImageImporter
{
    /// <summary>
    /// Stores <paramref name="layerTar"/> as a new top layer of <paramref name="parent"/> with
    /// <paramref name="config"/> (the parent's config JSON, its run settings already changed). The layer goes through
    /// the same staging as any import: its blob and unpacked directory are written under tmp/, checked against the
    /// diff id hashed here, and renamed into place, so the chain id names exactly these bytes and a killed commit
    /// leaves only tmp/ entries that the next writer removes.
    /// </summary>
    public ContainerImage ImportCommit(string layerTar, ContainerImage parent, JsonObject config, HistoryEntry history, IReadOnlyList<ImageReference> tags)
    {
        using var storeLock = store.LockForWriting();
        var parentLayers = store.LayersOf(parent.Id).OrderBy(l => l.Position).ToList();
        Digest diffId;
        using (var file = File.OpenRead(layerTar)) diffId = Digest.FromHash(SHA256.HashData(file));
        var chainIds = Digest.ChainIds(parentLayers.Select(l => l.DiffId).Append(diffId));
        Digest? parentChain = parentLayers.Count == 0 ? null : parentLayers[^1].ChainId;
        long size = new FileInfo(layerTar).Length;
        using var staged = ImportLayer(new LayerInput(() => File.OpenRead(layerTar), null, null, null, size, "commit"), 1, diffId, chainIds[^1], parentChain);
        var layer = staged.Commit(store);

        var created = history.Created ?? DateTimeOffset.UtcNow;
        config["created"] = created.ToString("O");
        var rootfs = config["rootfs"] as JsonObject ?? new JsonObject { ["type"] = "layers" };
        rootfs["diff_ids"] = new JsonArray(parentLayers.Select(l => l.DiffId).Append(diffId).Select(d => (JsonNode)JsonValue.Create(d.ToString())!).ToArray());
        config["rootfs"] = rootfs;
        var historyList = config["history"] as JsonArray ?? new JsonArray();
        historyList.Add(System.Text.Json.JsonSerializer.SerializeToNode(history, OciJson.Options));
        config["history"] = historyList;
        byte[] configBytes = System.Text.Encoding.UTF8.GetBytes(config.ToJsonString());
        var parsed = OciJson.Parse<ImageConfigFile>(configBytes, "image config", "commit");
        var configDigest = store.Blobs.Put(configBytes);

        var layers = parentLayers.Select((l, i) => new ImageLayerRecord(i, l.ChainId, l.DiffId, l.BlobDigest, l.MediaType, l.BlobSize))
            .Append(new ImageLayerRecord(parentLayers.Count, layer.ChainId, layer.DiffId, layer.BlobDigest, layer.MediaType, layer.BlobSize)).ToList();
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
