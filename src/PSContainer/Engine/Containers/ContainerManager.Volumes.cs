using PSContainer.Engine.Containers.Providers;
using PSContainer.Engine.Volumes;

namespace PSContainer.Engine.Containers;

/// <summary>
/// Containers and volumes: the lifecycle's side. What a container does with its volumes (anonymous names, users,
/// driver mounts, copy-up) is the volume provider's (Providers/VolumeProvider.cs); the lifecycle decides when, and
/// tells the provider which other containers run or are starting.
/// </summary>
public sealed partial class ContainerManager
{
    private VolumeManager? volumes;
    private VolumeProvider? volumeObjects;

    public VolumeManager Volumes => volumes ??= new VolumeManager(paths, images.Db);

    private VolumeProvider VolumeObjects => volumeObjects ??= new VolumeProvider(Volumes, Ledger, VolumeUsedByOthers);

    /// <summary>Whether a container other than <paramref name="containerId"/> runs, or is being started, with the volume.</summary>
    private bool VolumeUsedByOthers(string volume, string containerId) =>
        Volumes.Store.RunningUsers(volume, containerId).Count > 0
        || Volumes.Store.UserIds(volume).Any(id => id != containerId && File.Exists(StartMarker(id)));
}
