using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Images;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gets the images in the local store (docker images / docker image inspect).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerImage", DefaultParameterSetName = ByName)]
[OutputType(typeof(ContainerImage))]
public sealed class GetContainerImageCommand : PSContainerCmdlet
{
    private const string ByName = "ByName", ById = "ById", ByDigest = "ByDigest";

    /// <summary>Image names (repository or repository:tag), wildcards allowed.</summary>
    [Parameter(Position = 0, ParameterSetName = ByName, ValueFromPipeline = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Image ids, full or a unique prefix, with or without "sha256:".</summary>
    [Parameter(Mandatory = true, ParameterSetName = ById, ValueFromPipelineByPropertyName = true)]
    public string[]? Id { get; set; }

    /// <summary>Manifest or repository digests (sha256:… or repo@sha256:…).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByDigest)]
    public string[]? Digest { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<ContainerImage> images;
        try
        {
            images = Engine.Service.Images.List();
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
            return;
        }

        switch (ParameterSetName)
        {
            case ById:
                foreach (string id in Id!)
                {
                    string hex = id.StartsWith("sha256:", StringComparison.Ordinal) ? id[7..] : id;
                    var found = images.Where(i => i.Id[7..].StartsWith(hex, StringComparison.OrdinalIgnoreCase)).ToList();
                    if (found.Count == 0) WriteNotFound(id);
                    found.ForEach(WriteObject);
                }
                break;
            case ByDigest:
                foreach (string d in Digest!)
                {
                    int at = d.IndexOf('@');
                    string digestPart = at >= 0 ? d[(at + 1)..] : d;
                    var found = images.Where(i => i.ManifestDigest == digestPart || i.RepoDigests.Any(r => r == d || r.EndsWith("@" + digestPart, StringComparison.Ordinal))).ToList();
                    if (found.Count == 0) WriteNotFound(d);
                    found.ForEach(WriteObject);
                }
                break;
            default:
                if (Name is null || Name.Length == 0)
                {
                    foreach (var image in images) WriteObject(image);
                    break;
                }
                foreach (string name in Name)
                {
                    var found = images.Where(i => Matches(i, name)).ToList();
                    if (found.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name)) WriteNotFound(name);
                    found.ForEach(WriteObject);
                }
                break;
        }
    }

    /// <summary>
    /// A name without a tag matches every tag of that repository (docker images busybox); a name is compared in
    /// docker's familiar form and in full (docker.io/library/busybox:latest), so either spelling works.
    /// </summary>
    internal static bool Matches(ContainerImage image, string name)
    {
        bool hasTag = name.LastIndexOf(':') > name.LastIndexOf('/');
        var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
        string? normalized = !WildcardPattern.ContainsWildcardCharacters(name) && ImageReference.TryParse(name, false, out var r, out _) ? r!.FamiliarString : null;
        foreach (string tag in image.RepoTags)
        {
            string repository = tag[..tag.LastIndexOf(':')];
            string full = ImageReference.TryParse(tag, false, out var fr, out _) ? fr!.ToString() : tag;
            string fullRepository = full[..full.LastIndexOf(':')];
            if (hasTag ? pattern.IsMatch(tag) || pattern.IsMatch(full) || normalized == tag
                       : pattern.IsMatch(repository) || pattern.IsMatch(fullRepository) || normalized == repository)
                return true;
        }
        return false;
    }

    private void WriteNotFound(string what) =>
        WriteError(new ErrorRecord(new ItemNotFoundException($"No image matches '{what}'."), "ImageNotFound", ErrorCategory.ObjectNotFound, what));
}
