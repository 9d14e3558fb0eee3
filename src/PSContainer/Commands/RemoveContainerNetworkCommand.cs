using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Networks;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Removes container networks with their bridge, rules and DNS server (docker network rm).</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "ContainerNetwork", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "ByName")]
public sealed class RemoveContainerNetworkCommand : PSContainerCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "ByName", ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = "ByObject")]
    public ContainerNetwork[] Network { get; set; } = [];

    /// <summary>Disconnect attached containers first instead of refusing.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var targets = new List<string>();
        if (ParameterSetName == "ByObject") targets.AddRange(Network.Select(n => n.Id));
        else
        {
            foreach (string name in Name)
            {
                if (!WildcardPattern.ContainsWildcardCharacters(name)) { targets.Add(name); continue; }
                var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                try
                {
                    targets.AddRange(Engine.Containers.Networks.List().Where(n => pattern.IsMatch(n.Name)).Select(n => n.Name));
                }
                catch (EngineException e)
                {
                    WriteEngineError(e);
                }
            }
        }
        foreach (string target in targets)
        {
            if (!ShouldProcess(target, "Remove container network")) continue;
            try
            {
                Engine.Containers.Networks.Remove(target, Force);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }
}
