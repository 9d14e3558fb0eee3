using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Writes a container's file system as a tar file (docker export).</para>
/// </summary>
[Cmdlet(VerbsData.Export, "Container", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
[OutputType(typeof(FileInfo))]
public sealed class ExportContainerCommand : PSContainerCmdlet
{
    private const string ByName = "ByName", ByObject = "ByObject";

    /// <summary>The container, by name or id.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Container? Container { get; set; }

    /// <summary>The tar file to write.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public string Path { get; set; } = "";

    /// <summary>Do not overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter NoClobber { get; set; }

    protected override void ProcessRecord()
    {
        string key = Container?.Id ?? Name, shown = Container?.Name ?? Name;
        string path = GetUnresolvedProviderPathFromPSPath(Path);
        if (NoClobber && File.Exists(path))
        {
            WriteError(new ErrorRecord(new IOException($"'{path}' exists and -NoClobber was given."), "ExportFileExists", ErrorCategory.ResourceExists, path));
            return;
        }
        if (!ShouldProcess(shown, $"Export the file system to {path}")) return;
        // Written beside the target and renamed: a failed or cancelled export leaves no half tar under its name.
        string temp = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path) ?? ".", $".{System.IO.Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            RunWithProgress((progress, cancel) =>
            {
                using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 17))
                    Engine.Service.Export(key, file, cancel, progress);
                File.Move(temp, path, overwrite: true);
                return 0;
            });
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
        finally
        {
            File.Delete(temp);
        }
    }
}
