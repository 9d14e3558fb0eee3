using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Registry;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Logs out of a registry (docker logout): forgets the stored login.</para>
/// </summary>
/// <example>
///   <code>Disconnect-ContainerRegistry registry.example:5000</code>
/// </example>
[Cmdlet(VerbsCommunications.Disconnect, "ContainerRegistry", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
public sealed class DisconnectContainerRegistryCommand : PSContainerCmdlet
{
    /// <summary>The registry, host[:port] (default: docker.io).</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Server")]
    public string Registry { get; set; } = "docker.io";

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Registry, "Forget registry login")) return;
        try
        {
            var result = RegistryLogin.Logout(Engine.Paths, Registry);
            if (!result.Removed)
                WriteWarning($"Not logged in to {CredentialStore.NormalizeRegistry(Registry)}.");
            if (result.StillInDockerConfig)
                WriteWarning($"docker's {CredentialStore.DockerConfigFile()} still has a login for {CredentialStore.NormalizeRegistry(Registry)} (remove it with docker logout).");
        }
        catch (EngineException e)
        {
            WriteEngineError(e);
        }
    }
}
