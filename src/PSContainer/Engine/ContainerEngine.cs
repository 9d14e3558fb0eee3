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
        database = PSContainer.Native.FileIdentity.Of(paths.Database);
    }

    /// <summary>The state database this engine opened: a root deleted and made again under the same path has another.</summary>
    private readonly PSContainer.Native.FileIdentity? database;

    /// <summary>True while the root's database is still the file this engine opened.</summary>
    private bool StillOpen => database is not null && PSContainer.Native.FileIdentity.Of(Paths.Database) == database;

    public StatePaths Paths { get; }
    public ImageStore Images { get; }
    public Containers.ContainerManager Containers { get; }

    /// <summary>The service layer over this engine that the cmdlets use (psc-api makes its own over the same root).</summary>
    public Services.ContainerService Service
    {
        get
        {
            // One per engine even when two runspaces ask first at once: its gates and pending attaches are shared.
            lock (Gate) return service ??= new Services.ContainerService(this);
        }
    }

    private Services.ContainerService? service;

    /// <summary>The engine for $env:PSCONTAINER_ROOT (or the default root); re-opened when that variable changes or
    /// the root's database is no longer the one it opened.</summary>
    public static ContainerEngine ForEnvironment()
    {
        var paths = StatePaths.FromEnvironment();
        lock (Gate)
        {
            if (current is not null && current.Paths.Root == paths.Root && current.Paths.RunRoot == paths.RunRoot && current.StillOpen) return current;
            // SQLite's pool keeps connections per connection string, across engines: one to a root deleted (and
            // perhaps made again) since, by this engine or one before it, would still read and write the deleted
            // database, where nobody else ever sees a change. Opening another engine is rare; the pools go with it.
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
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
