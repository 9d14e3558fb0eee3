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

    /// <summary>Disconnect attached containers first instead of refusing; on the predefined bridge network, take down its host bridge and rules.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        // (what the engine is given, what the user is shown)
        var targets = new List<(string Key, string Shown)>();
        if (ParameterSetName == "ByObject") targets.AddRange(Network.Select(n => (n.Id, n.Name)));
        else
        {
            foreach (string name in Name)
            {
                if (!WildcardPattern.ContainsWildcardCharacters(name)) { targets.Add((name, name)); continue; }
                var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                try
                {
                    targets.AddRange(Engine.Service.Networks.ListRecorded().Where(n => pattern.IsMatch(n.Name)).Select(n => (n.Name, n.Name)));
                }
                catch (EngineException e)
                {
                    WriteEngineError(e);
                }
            }
        }
        foreach (var (key, shown) in targets)
        {
            bool predefined = shown == NetworkManager.DefaultNetwork;
            if (!ShouldProcess(shown, predefined && Force ? "Take down the host bridge and rules of the predefined network" : "Remove container network")) continue;
            try
            {
                // The engine refuses the predefined networks (PredefinedNetwork), so every client gets the same rule.
                Engine.Service.Networks.RemoveNetwork(key, Force);
                if (predefined && Force)
                    WriteVerbose($"{shown} is a pre-defined network: its host bridge and rules are gone, and it is made again when a container next uses it.");
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }
}
