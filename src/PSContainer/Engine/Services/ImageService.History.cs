using PSContainer.Engine.Images;
using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Services;

/// <summary>One line of docker history: a step of the image's build, newest first.</summary>
/// <param name="Id">The image id for the top step; "&lt;missing&gt;" for steps no local image stands for, as docker prints.</param>
/// <param name="Size">Bytes of the layer the step made (unpacked), 0 for a step that made none.</param>
public sealed record ImageHistoryEntry(string Id, DateTimeOffset? Created, string CreatedBy, IReadOnlyList<string> Tags, long Size, string Comment);

/// <summary>What an image prune removed and the space it freed (docker's ImagesDeleted and SpaceReclaimed).</summary>
public sealed record ImagePruneReport(IReadOnlyList<string> Deleted, IReadOnlyList<string> Untagged, long SpaceReclaimed);

/// <summary>Which unused images a prune takes: untagged ones only unless <see cref="DanglingOnly"/> is false, created before
/// <see cref="Until"/>, with every label of <see cref="Labels"/> and none of <see cref="NotLabels"/> (key or key=value).</summary>
public sealed record ImagePruneFilter(bool DanglingOnly = true, DateTime? Until = null, IReadOnlyList<string>? Labels = null, IReadOnlyList<string>? NotLabels = null);

public sealed partial class ImageService
{
    /// <summary>docker history: the config's history entries matched to the layers they made (entries marked empty_layer made none).</summary>
    public IReadOnlyList<ImageHistoryEntry> History(string nameOrId)
    {
        var image = Get(nameOrId);
        var config = OciJson.Parse<ImageConfigFile>(engine.Images.Blobs.ReadAll(Digest.Parse(image.Id, nameOrId)), "image config", image.Id);
        var layerSizes = engine.Images.LayersOf(image.Id).Select(l => engine.Images.LayerSize(l.ChainId) ?? l.BlobSize).ToList();
        var steps = config.History is { Count: > 0 } history
            ? history
            : layerSizes.Select(_ => new HistoryEntry { Created = config.Created }).ToList(); // no history: one step per layer
        var entries = new List<ImageHistoryEntry>();
        int layer = 0;
        foreach (var step in steps)
        {
            long size = step.EmptyLayer || layer >= layerSizes.Count ? 0 : layerSizes[layer++];
            entries.Add(new ImageHistoryEntry("<missing>", step.Created, step.CreatedBy ?? "", [], size, step.Comment ?? ""));
        }
        if (entries.Count == 0) entries.Add(new ImageHistoryEntry("<missing>", config.Created, "", [], 0, ""));
        entries[^1] = entries[^1] with { Id = image.Id, Tags = image.RepoTags };
        entries.Reverse();
        return entries;
    }

    /// <summary>
    /// docker image prune: the images no container uses that the filter takes, each removed as if named by id (an
    /// image a container started using meanwhile is refused by the removal itself and kept).
    /// </summary>
    public ImagePruneReport Prune(ImagePruneFilter filter, Func<ContainerImage, bool>? confirm = null)
    {
        long before = ImagePruner.ContentSize(engine.Images);
        var untagged = new List<string>();
        var deleted = new List<string>();
        foreach (var image in ImagePruner.Candidates(engine.Images, filter.DanglingOnly).Where(i => Takes(filter, i)))
        {
            if (confirm is not null && !confirm(image)) continue;
            try
            {
                // Several tags need force to go by id; an image in use is still refused (force would only untag it).
                var result = RemoveAndRecord(image.Id, force: image.RepoTags.Length > 1 && !engine.Images.ImagesInUse().Contains(image.Id));
                untagged.AddRange(result.Untagged);
                deleted.AddRange(result.Deleted);
            }
            catch (EngineException e) when (e.ErrorId is "ImageInUse" or "ImageNotFound")
            {
                // Taken into use or removed by someone else since the candidates were listed: not this prune's to remove.
            }
        }
        return new ImagePruneReport(deleted, untagged, Math.Max(0, before - ImagePruner.ContentSize(engine.Images)));
    }

    private static bool Takes(ImagePruneFilter filter, ContainerImage image)
    {
        if (filter.Until is DateTime until && image.Created is DateTime created && created.ToUniversalTime() >= until.ToUniversalTime()) return false;
        bool HasLabel(string l) => l.IndexOf('=') is int eq and > 0
            ? image.Config.Labels.TryGetValue(l[..eq], out var v) && v == l[(eq + 1)..]
            : image.Config.Labels.ContainsKey(l);
        return (filter.Labels ?? []).All(HasLabel) && !(filter.NotLabels ?? []).Any(HasLabel);
    }
}
