using System.Collections;
using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Images;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Imports images from a docker save tar, an OCI image layout (tar or directory), or a root
/// filesystem tar (docker load / docker import).</para>
/// </summary>
[Cmdlet(VerbsData.Import, "ContainerImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ContainerImage))]
public sealed class ImportContainerImageCommand : PSContainerCmdlet
{
    /// <summary>Archive files or OCI layout directories; accepts FileInfo and paths from the pipeline.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "PSPath", "LiteralPath")]
    public string[] Path { get; set; } = [];

    /// <summary>Auto (default) recognizes the format from the content; RootFs forces docker import semantics.</summary>
    [Parameter]
    public ImageArchiveFormat Format { get; set; } = ImageArchiveFormat.Auto;

    /// <summary>Names (repository[:tag]) to give the imported image.</summary>
    [Parameter(Position = 1)]
    [Alias("Tag")]
    public string[]? Name { get; set; }

    /// <summary>For a root filesystem: the default command (image Cmd).</summary>
    [Parameter]
    public string[]? Command { get; set; }

    /// <summary>For a root filesystem: the image Entrypoint.</summary>
    [Parameter]
    public string[]? Entrypoint { get; set; }

    /// <summary>For a root filesystem: environment variables (image Env).</summary>
    [Parameter]
    public Hashtable? Environment { get; set; }

    /// <summary>For a root filesystem: the working directory (image WorkingDir).</summary>
    [Parameter]
    public string? WorkingDirectory { get; set; }

    /// <summary>For a root filesystem: the default user.</summary>
    [Parameter]
    public string? User { get; set; }

    /// <summary>For a root filesystem: image labels.</summary>
    [Parameter]
    public Hashtable? Label { get; set; }

    /// <summary>For a root filesystem: exposed ports (80, 53/udp).</summary>
    [Parameter]
    public string[]? ExposePort { get; set; }

    /// <summary>For a root filesystem: the history comment.</summary>
    [Parameter]
    public string? Message { get; set; }

    protected override void ProcessRecord()
    {
        List<ImageReference> tags;
        try
        {
            tags = (Name ?? []).Select(n => ImageReference.Parse(n)).ToList();
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
            return;
        }
        var rootFs = new RootFsImageOptions
        {
            Cmd = Command,
            Entrypoint = Entrypoint,
            Environment = Environment?.Cast<DictionaryEntry>().Select(e => new KeyValuePair<string, string>(e.Key.ToString()!, e.Value?.ToString() ?? "")).ToList(),
            WorkingDir = WorkingDirectory,
            User = User,
            Labels = Label?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? ""),
            ExposedPorts = ExposePort,
            Message = Message,
        };

        foreach (string input in Path)
        {
            string resolved;
            try
            {
                resolved = GetUnresolvedProviderPathFromPSPath(input);
            }
            catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
            {
                WriteError(new ErrorRecord(e, "ImportPathNotFound", ErrorCategory.ObjectNotFound, input));
                continue;
            }
            if (!ShouldProcess(resolved, "Import container image")) continue;
            try
            {
                var images = RunWithProgress((progress, cancel) => Engine.Service.Images.Import(resolved, Format, tags, rootFs, progress, cancel));
                foreach (var image in images) WriteObject(image);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
            catch (IOException e)
            {
                WriteError(new ErrorRecord(e, "ImportReadFailed", ErrorCategory.ReadError, resolved));
            }
        }
    }
}
