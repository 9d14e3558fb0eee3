using PSContainer.Engine.Images;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine;

/// <summary>
/// The engine for one state root. Sessions share nothing in memory; everything lives in the state root, so this
/// object is only a cache of open stores for the root the environment names.
/// </summary>
public sealed class ContainerEngine
{
    private static readonly object Gate = new();
    private static ContainerEngine? current;

    private ContainerEngine(StatePaths paths)
    {
        Paths = paths;
        Images = new ImageStore(paths);
        Containers = new Containers.ContainerManager(paths, Images);
    }

    public StatePaths Paths { get; }
    public ImageStore Images { get; }
    public Containers.ContainerManager Containers { get; }

    /// <summary>The service layer over this engine that the cmdlets use (psc-api makes its own over the same root).</summary>
    public Services.ContainerService Service => service ??= new Services.ContainerService(this);

    private Services.ContainerService? service;

    /// <summary>The engine for $env:PSCONTAINER_ROOT (or the default root); re-opened when that variable changes.</summary>
    public static ContainerEngine ForEnvironment()
    {
        var paths = StatePaths.FromEnvironment();
        lock (Gate)
        {
            if (current is not null && current.Paths.Root == paths.Root && current.Paths.RunRoot == paths.RunRoot) return current;
            if (Environment.UserName != "root" && !PSContainer.Native.ProcessIdentity.IsRoot)
                throw new EngineException("RootRequired", ErrorKind.PermissionDenied, paths.Root,
                    "PSContainer needs root for now (it mounts overlay filesystems and creates device nodes in layers). Run pwsh as root.");
            try
            {
                current = new ContainerEngine(paths);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new EngineException("StateRootUnavailable", ErrorKind.PermissionDenied, paths.Root, $"Cannot use state root {paths.Root}: {e.Message}", e);
            }
            return current;
        }
    }
}
