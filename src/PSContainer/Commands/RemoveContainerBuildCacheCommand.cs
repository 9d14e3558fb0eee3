using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Build;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Empties Build-ContainerImage's cache: its step images no tag or container holds, and its RUN cache mounts (docker builder prune).</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "ContainerBuildCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(BuildCacheUsage))]
public sealed class RemoveContainerBuildCacheCommand : PSContainerCmdlet
{
    protected override void EndProcessing()
    {
        if (!ShouldProcess(Engine.Paths.Root, "Remove the build cache")) return;
        try
        {
            WriteObject(BuildCacheMaintenance.Prune(Engine));
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
        }
    }
}
