using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Images;
using PSContainer.Engine.Registry;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Pulls images from a registry (docker pull).</para>
/// <para type="description">Resolves each reference the way docker does (busybox is docker.io/library/busybox:latest),
/// picks the manifest for the platform from a multi-platform index, downloads the layers in parallel, verifies every
/// digest, and only then adds the image to the store. Credentials come from -Credential, Connect-ContainerRegistry or
/// docker's ~/.docker/config.json. Mirrors and insecure registries are set in registries.json.</para>
/// </summary>
/// <example>
///   <code>Request-ContainerImage busybox</code>
///   <para>Pulls docker.io/library/busybox:latest for this host's platform.</para>
/// </example>
/// <example>
///   <code>Request-ContainerImage 127.0.0.1:5000/tools/app:1.0 -Platform linux/arm64 -Quiet</code>
///   <para>Pulls the arm64 image of a multi-platform image from a local registry without progress bars.</para>
/// </example>
[Cmdlet(VerbsLifecycle.Request, "ContainerImage")]
[OutputType(typeof(ContainerImage))]
public sealed class RequestContainerImageCommand : PSContainerCmdlet
{
    /// <summary>Image references: [registry[:port]/]repository[:tag][@digest].</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Reference", "Image")]
    public string[] Name { get; set; } = [];

    /// <summary>os/architecture[/variant] to pull from a multi-platform image (default: this host, e.g. linux/amd64).</summary>
    [Parameter]
    public string? Platform { get; set; }

    /// <summary>Credentials for the registry (instead of a stored login).</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>No progress; only the image is written.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        foreach (string name in Name)
        {
            try
            {
                var options = new PullOptions { Platform = Platform, Credential = Credential.ToRegistryCredential() };
                var image = RunWithProgress((progress, cancel) => Engine.Service.Images.Pull(name, options, Quiet ? null : progress, cancel));
                WriteObject(image);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
            catch (IOException e)
            {
                WriteError(new ErrorRecord(e, "PullFailed", ErrorCategory.WriteError, name));
            }
        }
    }
}

internal static class CredentialConversion
{
    public static RegistryCredential? ToRegistryCredential(this PSCredential? credential) =>
        credential is null || credential == PSCredential.Empty
            ? null
            : new RegistryCredential(credential.UserName, credential.GetNetworkCredential().Password);
}
