using PSContainer.Engine.Images;

namespace PSContainer.Engine.Services;

/// <summary>
/// Images to and from files on the host (Import-ContainerImage and Export-ContainerImage), with the same events the
/// API's load and save record: import for an image made from a root filesystem tar (docker import), load for the
/// images of an archive or OCI layout, save for each image written.
/// </summary>
public sealed partial class ImageService
{
    /// <summary>docker load / docker import of a file or OCI layout directory, all-or-nothing.</summary>
    public IReadOnlyList<ContainerImage> Import(string path, ImageArchiveFormat format, IReadOnlyList<ImageReference> tags, RootFsImageOptions? rootFs,
        IProgress<ProgressInfo>? progress, CancellationToken cancel)
    {
        var importer = new ImageImporter(engine.Images, progress, cancel);
        var imported = importer.Import(path, format, tags, rootFs);
        // What the importer found the file to be (Auto tells the kinds apart by content), not a guess from the images.
        foreach (var image in imported) events.Image(importer.ImportedRootFs ? "import" : "load", image.Id, image.Id, image);
        return imported;
    }

    /// <summary>docker save -o PATH (or an OCI layout tar): every image under the names given, written whole or not at all.</summary>
    public void Export(IReadOnlyList<(ContainerImage Image, IReadOnlyList<ImageReference> Names)> selection, string path, ImageExportFormat format,
        IProgress<ProgressInfo>? progress, CancellationToken cancel)
    {
        new ImageExporter(engine.Images, progress, cancel).Export(selection, path, format);
        RecordSaves(selection);
    }
}
