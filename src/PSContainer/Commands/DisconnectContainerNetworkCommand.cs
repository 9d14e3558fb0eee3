using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Disconnects containers from a network (docker network disconnect).</para>
/// </summary>
[Cmdlet(VerbsCommunications.Disconnect, "ContainerNetwork", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(Container))]
public sealed class DisconnectContainerNetworkCommand : ContainerTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string Network { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (key, shown) in Targets())
        {
            if (!ShouldProcess(shown, $"Disconnect from network {Network}")) continue;
            try
            {
                var c = Engine.Service.Networks.DisconnectContainer(key, Network);
                if (PassThru) WriteObject(c);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }
}
