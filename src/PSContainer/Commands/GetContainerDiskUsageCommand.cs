using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gets the disk space images, containers and volumes take, and what removing the unused would free (docker system df).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerDiskUsage")]
[OutputType(typeof(ContainerDiskUsage))]
public sealed class GetContainerDiskUsageCommand : PSContainerCmdlet
{
    protected override void EndProcessing()
    {
        try
        {
            foreach (var usage in Engine.Service.DiskUsageTotals()) WriteObject(usage);
            // Build-ContainerImage's cache: step images no tag holds, and RUN cache mounts (docker system df's Build Cache).
            var build = PSContainer.Engine.Build.BuildCacheMaintenance.Usage(Engine);
            WriteObject(new ContainerDiskUsage { Type = "BuildCache", TotalCount = build.Entries, Size = build.Size, Reclaimable = build.Size });
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
        }
    }
}
