using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Connects containers to a network (docker network connect); running ones get the interface at once.</para>
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "ContainerNetwork", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByName)]
[OutputType(typeof(Container))]
public sealed class ConnectContainerNetworkCommand : ContainerTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string Network { get; set; } = "";

    /// <summary>A static address on the network.</summary>
    [Parameter]
    [Alias("Ip")]
    public string? IPAddress { get; set; }

    [Parameter]
    public string[]? NetworkAlias { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (key, shown) in Targets())
        {
            if (!ShouldProcess(shown, $"Connect to network {Network}")) continue;
            try
            {
                var c = Engine.Service.Networks.ConnectContainer(key, Network, IPAddress, NetworkAlias ?? []);
                if (PassThru) WriteObject(c);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }
}
