using PSContainer.Engine.Archives;

namespace PSContainer.Engine.Storage;

/// <summary>How <see cref="LayerApplier"/> unpacks a tar that is not an image layer (a copy into or out of a container).</summary>
public sealed class ExtractOptions
{
    /// <summary>Root-relative directory every member is placed under.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>OCI whiteouts are layer semantics; a copied file that happens to be named .wh.x is just a file.</summary>
    public bool Whiteouts { get; init; } = true;

    /// <summary>Every member gets this owner (docker cp without -a).</summary>
    public (uint Uid, uint Gid)? Owner { get; init; }

    /// <summary>Owner ids translated (a container's ids to the host ids of its user namespace).</summary>
    public Func<uint, uint>? MapUid { get; init; }
    public Func<uint, uint>? MapGid { get; init; }

    public bool RequireEndOfArchive { get; init; }

    /// <summary>docker's noOverwriteDirNonDir: a member never replaces a directory with a non-directory, nor the reverse.</summary>
    public bool NoOverwriteDirNonDir { get; init; }
    public SpaceGuard? Space { get; init; }
    public Action<long>? OnBytes { get; init; }
    public CancellationToken Cancel { get; init; }

    internal TarHeader Adjust(TarHeader h)
    {
        uint uid = Owner?.Uid ?? MapUid?.Invoke(h.Uid) ?? h.Uid;
        uint gid = Owner?.Gid ?? MapGid?.Invoke(h.Gid) ?? h.Gid;
        if (Owner is not null)
        {
            uid = MapUid?.Invoke(uid) ?? uid;
            gid = MapGid?.Invoke(gid) ?? gid;
        }
        return new TarHeader
        {
            Name = h.Name, LinkName = h.LinkName, Kind = h.Kind, Mode = h.Mode, Uid = uid, Gid = gid, Size = h.Size,
            ModificationTime = h.ModificationTime, AccessTime = h.AccessTime, DeviceMajor = h.DeviceMajor,
            DeviceMinor = h.DeviceMinor, Xattrs = h.Xattrs, DataOffset = h.DataOffset,
        };
    }
}
