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
    public ContainerImage ImportCommit(string layerTar, ContainerImage parent, JsonObject config, HistoryEntry history, IReadOnlyList<ImageReference> tags) =>
        ImportBuilt(store.LayersOf(parent.Id), layerTar, config, [history], tags);
}
