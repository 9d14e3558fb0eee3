using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Volumes;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Removes volumes and their data (docker volume rm); a volume any container uses is refused.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "ContainerVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = "ByName")]
public sealed class RemoveContainerVolumeCommand : PSContainerCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "ByName", ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = "ByObject")]
    public ContainerVolume[] Volume { get; set; } = [];

    /// <summary>As docker volume rm -f: a volume that does not exist is no error. A volume in use is still refused.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var targets = new List<string>();
        if (ParameterSetName == "ByObject") targets.AddRange(Volume.Select(v => v.Name));
        else
        {
            foreach (string name in Name)
            {
                if (!WildcardPattern.ContainsWildcardCharacters(name)) { targets.Add(name); continue; }
                var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                try
                {
                    targets.AddRange(Engine.Containers.Volumes.Store.All().Where(v => pattern.IsMatch(v.Name)).Select(v => v.Name));
                }
                catch (EngineException e)
                {
                    WriteEngineError(e);
                }
            }
        }
        foreach (string name in targets)
        {
            if (!ShouldProcess(name, "Remove container volume and its data")) continue;
            try
            {
                Engine.Containers.Volumes.Remove(name, Force);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }
}
