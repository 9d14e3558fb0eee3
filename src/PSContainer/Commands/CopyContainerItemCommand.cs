using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Copies files and directory trees between the host and a container (docker cp).</para>
/// </summary>
[Cmdlet(VerbsCommon.Copy, "ContainerItem", SupportsShouldProcess = true, DefaultParameterSetName = ByPath)]
[OutputType(typeof(CopyResult))]
public sealed class CopyContainerItemCommand : PSContainerCmdlet
{
    private const string ByPath = "ByPath", FromTar = "FromTar";

    /// <summary>What to copy: a host path, or CONTAINER:PATH (a container name or id, a colon, a path inside it).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByPath)]
    [ArgumentCompleter(typeof(ContainerPathCompleter))]
    public string Path { get; set; } = "";

    /// <summary>A tar file to unpack into a directory of the container (docker cp - CONTAINER:DIR).</summary>
    [Parameter(Mandatory = true, ParameterSetName = FromTar, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string TarPath { get; set; } = "";

    /// <summary>Where to: a host path, or CONTAINER:PATH. Exactly one of -Path and -Destination names a container.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(ContainerPathCompleter))]
    public string Destination { get; set; } = "";

    /// <summary>Keep owner and group ids (docker cp -a); without it the copy belongs to the container's root or to you.</summary>
    [Parameter]
    public SwitchParameter Archive { get; set; }

    /// <summary>Write the container path as a tar file at -Destination instead of unpacking it (docker cp CONTAINER:SRC -).</summary>
    [Parameter(ParameterSetName = ByPath)]
    public SwitchParameter AsTar { get; set; }

    /// <summary>Write an object describing the copy (destination, entries, bytes).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var options = (IProgress<Engine.Images.ProgressInfo> p, CancellationToken c) => new CopyOptions { Archive = Archive, Progress = p, Cancel = c };
        var destination = SplitContainerPath(Destination);
        try
        {
            if (ParameterSetName == FromTar)
            {
                string tar = GetUnresolvedProviderPathFromPSPath(TarPath);
                if (destination is not { } into)
                    throw new EngineException("DestinationNotContainer", ErrorKind.InvalidArgument, Destination, "-TarPath unpacks into a container: give -Destination as CONTAINER:DIR.");
                if (!File.Exists(tar)) throw new EngineException("PathNotFound", ErrorKind.ObjectNotFound, tar, $"The tar file '{tar}' does not exist.");
                if (!ShouldProcess(Destination, $"Unpack {tar}")) return;
                Write(RunWithProgress((p, c) =>
                {
                    using var stream = File.OpenRead(tar);
                    return Engine.Service.CopyTarToContainer(into.Container, stream, into.Path, options(p, c));
                }));
                return;
            }
            var source = SplitContainerPath(Path);
            if (source is null == destination is null)
                throw new EngineException(source is null ? "NoContainerPath" : "BothContainerPaths", ErrorKind.InvalidArgument, Path,
                    "Exactly one of -Path and -Destination must be CONTAINER:PATH (copying between two containers is not supported, as in docker cp).");
            if (source is { } from)
            {
                string hostPath = GetUnresolvedProviderPathFromPSPath(Destination);
                if (Destination.EndsWith('/') && !hostPath.EndsWith('/')) hostPath += "/";
                if (!ShouldProcess($"{from.Container}:{from.Path}", $"Copy to {hostPath}{(AsTar ? " as a tar file" : "")}")) return;
                if (AsTar)
                {
                    string temp = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(hostPath) ?? ".", $".{System.IO.Path.GetFileName(hostPath)}.{Environment.ProcessId}.tmp");
                    try
                    {
                        Write(RunWithProgress((p, c) =>
                        {
                            CopyResult r;
                            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 17))
                                r = Engine.Service.CopyFromContainerAsTar(from.Container, from.Path, file, options(p, c));
                            File.Move(temp, hostPath, overwrite: true);
                            return r with { Destination = hostPath };
                        }));
                    }
                    finally
                    {
                        File.Delete(temp);
                    }
                    return;
                }
                Write(RunWithProgress((p, c) => Engine.Service.CopyFromContainer(from.Container, from.Path, hostPath, options(p, c))));
                return;
            }
            if (AsTar) throw new EngineException("AsTarNeedsContainerSource", ErrorKind.InvalidArgument, Path, "-AsTar writes a container path as a tar: -Path must be CONTAINER:PATH.");
            var to = destination!.Value;
            string hostSource = GetUnresolvedProviderPathFromPSPath(Path);
            if (Path.EndsWith("/.")) hostSource = hostSource.TrimEnd('/') + "/.";
            else if (Path.EndsWith('/') && !hostSource.EndsWith('/')) hostSource += "/";
            if (!ShouldProcess($"{to.Container}:{to.Path}", $"Copy {hostSource} into the container")) return;
            Write(RunWithProgress((p, c) => Engine.Service.CopyToContainer(to.Container, hostSource, to.Path, options(p, c))));
        }
        catch (EngineException e)
        {
            WriteEngineError(e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(e, "CopyFailed", ErrorCategory.WriteError, Destination));
        }
    }

    private void Write(CopyResult result)
    {
        if (PassThru) WriteObject(result);
    }

    /// <summary>
    /// CONTAINER:PATH, as docker cp reads it: a colon before any slash, and a path that does not start with "/" or
    /// "." (./a:b is a host file).
    /// </summary>
    internal static (string Container, string Path)? SplitContainerPath(string text)
    {
        int colon = text.IndexOf(':');
        if (colon <= 0 || text.StartsWith('/') || text.StartsWith('.')) return null;
        int slash = text.IndexOf('/');
        if (slash >= 0 && slash < colon) return null;
        string path = text[(colon + 1)..];
        return (text[..colon], path.Length == 0 ? "/" : path);
    }
}
