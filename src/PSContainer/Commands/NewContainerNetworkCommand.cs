using System.Collections;
using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Networks;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Creates a container network: a Linux bridge with its own subnet (docker network create).</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "ContainerNetwork", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ContainerNetwork))]
public sealed class NewContainerNetworkCommand : PSContainerCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>The subnet in CIDR form (10.89.5.0/24); a free one in 10.89.0.0/16 when omitted.</summary>
    [Parameter]
    public string? Subnet { get; set; }

    /// <summary>The bridge's address (the first host address of the subnet when omitted).</summary>
    [Parameter]
    public string? Gateway { get; set; }

    /// <summary>Allocate container addresses from this part of the subnet only.</summary>
    [Parameter]
    public string? IPRange { get; set; }

    /// <summary>No traffic in or out of the network except between its containers.</summary>
    [Parameter]
    public SwitchParameter Internal { get; set; }

    [Parameter]
    public Hashtable? Label { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, "Create container network")) return;
        try
        {
            bool forwarding = NetworkManager.IPForwarding;
            var network = Engine.Service.Networks.CreateNetwork(new NetworkCreateOptions
            {
                Name = Name,
                Subnet = Subnet,
                Gateway = Gateway,
                IPRange = IPRange,
                Internal = Internal,
                Labels = Label?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? "") ?? new(),
            });
            if (!forwarding && network.IPForwarding) WriteVerbose("Enabled IPv4 forwarding on the host (net.ipv4.ip_forward=1), as traffic out of the network needs.");
            WriteVerbose($"Network {network.Name}: bridge {network.Bridge}, subnet {network.Subnet}, gateway {network.Gateway}.");
            WriteObject(network);
        }
        catch (EngineException e)
        {
            WriteEngineError(e);
        }
    }
}
