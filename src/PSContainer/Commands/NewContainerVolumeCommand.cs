using System.Collections;
using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Volumes;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Creates a volume: a directory under the state root, or a tmpfs, bind or device mount (docker volume create).</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "ContainerVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ContainerVolume))]
public sealed class NewContainerVolumeCommand : PSContainerCmdlet
{
    /// <summary>The volume's name; a random 64-character hex name when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>The volume driver: only local.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Driver { get; set; } = "local";

    /// <summary>The local driver's options (docker --opt): type, device, o.</summary>
    [Parameter]
    public Hashtable? Option { get; set; }

    [Parameter]
    public Hashtable? Label { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name ?? "(anonymous)", "Create container volume")) return;
        try
        {
            WriteObject(Engine.Service.Volumes.CreateVolume(new VolumeCreateOptions
            {
                Name = Name,
                Driver = Driver,
                Options = ToDictionary(Option),
                Labels = ToDictionary(Label),
            }));
        }
        catch (EngineException e)
        {
            WriteEngineError(e);
        }
    }

    private static Dictionary<string, string> ToDictionary(Hashtable? table) =>
        table?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? "", StringComparer.Ordinal) ?? new();
}
