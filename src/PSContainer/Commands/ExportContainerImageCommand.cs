using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Images;
using PSContainer.Engine.Services;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Saves images to a tar file that docker load, podman load and skopeo read (docker save).</para>
/// </summary>
[Cmdlet(VerbsData.Export, "ContainerImage", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
[OutputType(typeof(FileInfo))]
public sealed class ExportContainerImageCommand : PSContainerCmdlet
{
    private const string ByName = "ByName", ByObject = "ByObject";
    private readonly List<(ContainerImage, IReadOnlyList<ImageReference>)> collected = new();

    /// <summary>Images by name or id; a name exports the image under that name, an id under all its tags.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public ContainerImage[] Image { get; set; } = [];

    /// <summary>The tar file to write.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public string Path { get; set; } = "";

    /// <summary>DockerArchive (default, docker save) or OciArchive (an OCI image layout tar).</summary>
    [Parameter]
    public ImageExportFormat Format { get; set; } = ImageExportFormat.DockerArchive;

    /// <summary>Do not overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter NoClobber { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject)
        {
            foreach (var image in Image) collected.Add((image, ImageService.SavedNames(image, null)));
            return;
        }
        foreach (string name in Name)
        {
            try
            {
                var image = Engine.Service.Images.Lookup(name);
                collected.Add((image, ImageService.SavedNames(image, name)));
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }

    protected override void EndProcessing()
    {
        if (collected.Count == 0) return;
        string path = GetUnresolvedProviderPathFromPSPath(Path);
        if (NoClobber && File.Exists(path))
        {
            WriteError(new ErrorRecord(new IOException($"'{path}' exists and -NoClobber was given."), "ExportFileExists", ErrorCategory.ResourceExists, path));
            return;
        }
        string what = string.Join(", ", collected.Select(c => c.Item1.ToString()));
        if (!ShouldProcess(path, $"Export {what} as {Format}")) return;
        try
        {
            RunWithProgress((progress, cancel) =>
            {
                Engine.Service.Images.Export(collected, path, Format, progress, cancel);
                return 0;
            });
            // The FileSystem provider's item (as Get-Item returns it), read after the write: a bare FileInfo lacks
            // the PS* properties its default view needs, and shows blank mode and size.
            WriteObject(InvokeProvider.Item.Get([path], force: true, literalPath: true), enumerateCollection: true);
        }
        catch (EngineException e)
        {
            WriteEngineError(e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(e, "ExportWriteFailed", ErrorCategory.WriteError, path));
        }
    }
}
