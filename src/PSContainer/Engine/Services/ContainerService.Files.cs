using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

/// <summary>Files of a container for a front end: docker cp's archive side, docker export, docker diff.</summary>
public sealed partial class ContainerService
{
    /// <summary>What a path in the container is (HEAD /containers/{id}/archive).</summary>
    public ContainerPathStat StatPath(string idOrName, string path) => Manager.StatPath(ResolveId(idOrName), path);

    /// <summary>A container path as a tar, written to the stream <paramref name="open"/> gives once the stat is known.</summary>
    public CopyResult ArchivePath(string idOrName, string path, Func<ContainerPathStat, Stream> open, CancellationToken cancel) =>
        Manager.ArchivePath(ResolveId(idOrName), path, open, new CopyOptions { Archive = true, Cancel = cancel });

    /// <summary>
    /// Unpacks a tar into an existing directory of the container. Without <paramref name="copyOwners"/> everything
    /// belongs to the container's root (docker cp without -a).
    /// </summary>
    public CopyResult ExtractArchive(string idOrName, string directory, Stream tar, bool copyOwners, bool noOverwriteDirNonDir, CancellationToken cancel) =>
        CopyTarToContainer(idOrName, tar, directory, new CopyOptions { Archive = copyOwners, NoOverwriteDirNonDir = noOverwriteDirNonDir, Cancel = cancel });

    /// <summary>Unpacks a tar into an existing directory of the container (docker cp - CONTAINER:DIR), with the caller's options.</summary>
    public CopyResult CopyTarToContainer(string idOrName, Stream tar, string directory, CopyOptions options) =>
        Manager.CopyTarToContainer(ResolveId(idOrName), tar, directory, options);

    /// <summary>docker cp CONTAINER:SRC DEST: a container path to a host path.</summary>
    public CopyResult CopyFromContainer(string idOrName, string containerPath, string hostDestination, CopyOptions options) =>
        Manager.CopyFromContainer(ResolveId(idOrName), containerPath, hostDestination, options);

    /// <summary>docker cp CONTAINER:SRC -: a container path as a tar stream.</summary>
    public CopyResult CopyFromContainerAsTar(string idOrName, string containerPath, Stream output, CopyOptions options) =>
        Manager.CopyFromContainerAsTar(ResolveId(idOrName), containerPath, output, options);

    /// <summary>docker cp SRC CONTAINER:DEST: a host path into the container.</summary>
    public CopyResult CopyToContainer(string idOrName, string hostSource, string containerDestination, CopyOptions options) =>
        Manager.CopyToContainer(ResolveId(idOrName), hostSource, containerDestination, options);

    /// <summary>docker export: the container's file system (image and its changes, no volumes) as a tar.</summary>
    public CopyResult Export(string idOrName, Stream output, CancellationToken cancel, IProgress<PSContainer.Engine.Images.ProgressInfo>? progress = null) =>
        Manager.Export(ResolveId(idOrName), output, progress, cancel);

    /// <summary>docker diff: what the container added, changed and deleted of its image.</summary>
    public IReadOnlyList<ContainerChange> Changes(string idOrName) => Manager.Changes(ResolveId(idOrName));
}
