using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Registry;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Logs in to a registry (docker login).</para>
/// <para type="description">Checks the credentials against the registry, then stores them for later pulls and pushes
/// in auth.json under the state root (mode 0600, docker's config.json format). Logins made with docker login are
/// read as well.</para>
/// </summary>
/// <example>
///   <code>Connect-ContainerRegistry registry.example:5000 -Credential (Get-Credential)</code>
/// </example>
[Cmdlet(VerbsCommunications.Connect, "ContainerRegistry")]
[OutputType(typeof(RegistryLogin))]
public sealed class ConnectContainerRegistryCommand : PSContainerCmdlet
{
    /// <summary>The registry, host[:port] (default: docker.io).</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Server")]
    public string Registry { get; set; } = "docker.io";

    /// <summary>User name and password (or access token).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [Credential]
    public PSCredential Credential { get; set; } = PSCredential.Empty;

    protected override void ProcessRecord()
    {
        try
        {
            var credential = Credential.ToRegistryCredential()
                ?? throw new EngineException("CredentialRequired", ErrorKind.InvalidArgument, Registry, "Connect-ContainerRegistry needs a user name and password.");
            var login = RunWithProgress((_, cancel) => RegistryLogin.Login(Engine.Paths, Registry, credential, cancel));
            WriteObject(login);
        }
        catch (EngineException e)
        {
            WriteEngineError(e);
        }
    }
}
