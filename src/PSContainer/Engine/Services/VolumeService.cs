using PSContainer.Engine.Volumes;

namespace PSContainer.Engine.Services;

/// <summary>
/// Volumes for the front ends: docker's list filters, an idempotent create (docker volume create NAME twice returns
/// the same volume, as compose relies on), remove and prune with label filters. Over <see cref="VolumeManager"/>.
/// </summary>
public sealed class VolumeService
{
    private readonly ContainerEngine engine;
    private readonly ObjectEvents events;

    public VolumeService(ContainerEngine engine)
    {
        this.engine = engine;
        events = new ObjectEvents(engine);
    }

    private VolumeManager Manager => engine.Containers.Volumes;

    public IReadOnlyList<ContainerVolume> List(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, bool size = false)
    {
        ObjectFilters.Check(filters, "name", "label", "label!", "dangling", "driver");
        bool? dangling = ObjectFilters.Dangling(filters);
        var drivers = ObjectFilters.Values(filters, "driver");
        return Manager.List(size).Where(v =>
            ObjectFilters.NameMatches(filters, v.Name)
            && ObjectFilters.LabelsMatch(filters, v.Labels)
            && (drivers.Count == 0 || drivers.Contains(v.Driver))
            && (dangling is null || dangling == (v.UsedBy.Length == 0))).ToList();
    }

    public ContainerVolume Get(string name) => Manager.Get(name, size: false);

    /// <summary>Every volume with the containers using it; with <paramref name="size"/> each one's bytes too (walks its files).</summary>
    public IReadOnlyList<ContainerVolume> List(bool size = false) => Manager.List(size);

    public ContainerVolume Get(string name, bool size) => Manager.Get(name, size);

    /// <summary>The names of every volume, without looking at what uses them.</summary>
    public IReadOnlyList<string> Names() => Manager.Store.All().Select(v => v.Name).ToList();

    /// <summary>
    /// docker volume create. A name that exists already gives that volume back when the request asks for nothing
    /// else than it has (dockerd's behaviour); asking for another driver or other options is a conflict.
    /// </summary>
    public ContainerVolume Create(VolumeCreateOptions o)
    {
        if (o.Name is { Length: > 0 } name && Manager.Store.Get(name) is not null)
        {
            var existing = Manager.Get(name, size: false);
            bool sameOptions = o.Options.Count == 0 || (o.Options.Count == existing.Options.Count && o.Options.All(kv => existing.Options.TryGetValue(kv.Key, out var v) && v == kv.Value));
            if (o.Driver != existing.Driver || !sameOptions)
                throw new EngineException("VolumeExists", ErrorKind.ResourceExists, name,
                    $"volume {name} already exists with driver {existing.Driver} and other options: remove it first or use another name");
            return existing;
        }
        if (o.Name is { Length: 0 }) o.Name = null;
        return CreateVolume(o);
    }

    /// <summary>The engine's create (New-ContainerVolume's: a name in use is an error) and its create event.</summary>
    public ContainerVolume CreateVolume(VolumeCreateOptions o)
    {
        var volume = Manager.Create(o);
        events.Volume("create", volume.Name, volume.Driver);
        return volume;
    }

    /// <summary>docker volume rm: refused while a container uses it; force makes a missing volume no error.</summary>
    public void Remove(string name, bool force)
    {
        var recorded = Manager.Store.Get(name);
        Manager.Remove(name, force);
        if (recorded is not null) events.Volume("destroy", recorded.Name, recorded.Driver);
    }

    /// <summary>The volumes no container uses (running or not): docker volume prune's candidates.</summary>
    public IReadOnlyList<ContainerVolume> Unused() => Manager.UnusedVolumes();

    /// <summary>Removes the volume if no container uses it now: the bytes freed, or null when it was kept.</summary>
    public long? RemoveIfUnused(ContainerVolume volume)
    {
        if (Manager.RemoveIfUnused(volume.Name) is not long size) return null;
        events.Volume("destroy", volume.Name, volume.Driver);
        return size;
    }

    /// <summary>docker volume prune (API 1.41: every unused volume, named or anonymous), narrowed by label filters.</summary>
    /// <param name="anonymousByDefault">dockerd from API 1.42: only anonymous volumes unless the filter all=true
    /// (docker volume prune -a); before that every unused volume.</param>
    public VolumePruneResult Prune(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, bool anonymousByDefault = false)
    {
        ObjectFilters.Check(filters, "label", "label!", "all");
        bool all = filters.TryGetValue("all", out var values) && values.Any(v => v is "1" or "true");
        bool anonymousOnly = anonymousByDefault && !all;
        var deleted = new List<string>();
        long freed = 0;
        foreach (var v in Manager.UnusedVolumes().Where(v => (!anonymousOnly || v.Anonymous) && ObjectFilters.LabelsMatch(filters, v.Labels)))
        {
            if (RemoveIfUnused(v) is not long size) continue;
            deleted.Add(v.Name);
            freed += size;
        }
        return new VolumePruneResult(deleted.ToArray(), freed);
    }
}
