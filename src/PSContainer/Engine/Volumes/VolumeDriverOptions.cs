using PSContainer.Native;

namespace PSContainer.Engine.Volumes;

/// <summary>
/// The local driver's options (docker volume create --opt): type, device and o, handed to mount(2) when the first
/// container using the volume starts. type=none with o=bind binds an existing host directory; type=tmpfs makes a
/// tmpfs; any other type mounts device as that file system. Other keys are refused.
/// </summary>
public sealed record VolumeDriverOptions(string? Type, string? Device, string? O)
{
    private static readonly Dictionary<string, ulong> Flags = new(StringComparer.Ordinal)
    {
        ["ro"] = Mounts.MS_RDONLY, ["rw"] = 0, ["nosuid"] = Mounts.MS_NOSUID, ["nodev"] = Mounts.MS_NODEV,
        ["noexec"] = Mounts.MS_NOEXEC, ["suid"] = 0, ["dev"] = 0, ["exec"] = 0, ["bind"] = Mounts.MS_BIND,
        ["rbind"] = Mounts.MS_BIND | Mounts.MS_REC, ["defaults"] = 0,
    };

    /// <summary>Whether the volume is a mount of its own (else a plain directory under the state root).</summary>
    public bool IsMount => Type is not null;

    public static VolumeDriverOptions Parse(IReadOnlyDictionary<string, string> options, string volume)
    {
        foreach (string key in options.Keys)
            if (key is not ("type" or "device" or "o"))
                throw new EngineException("InvalidVolumeOption", ErrorKind.InvalidArgument, key,
                    $"Unknown option '{key}' for volume {volume}: the local driver takes type, device and o.");
        string? Get(string k) => options.TryGetValue(k, out var v) ? (v.Length > 0 ? v
            : throw new EngineException("InvalidVolumeOption", ErrorKind.InvalidArgument, k, $"Option '{k}' of volume {volume} is empty.")) : null;
        var o = new VolumeDriverOptions(Get("type"), Get("device"), Get("o"));
        if (o.Type is null && (o.Device is not null || o.O is not null))
            throw new EngineException("InvalidVolumeOption", ErrorKind.InvalidArgument, volume, $"Volume {volume}: device and o need a type (tmpfs, none with o=bind, or a file system).");
        if (o.Type is "none")
        {
            if ((o.SplitO().Flags & Mounts.MS_BIND) == 0)
                throw new EngineException("InvalidVolumeOption", ErrorKind.InvalidArgument, volume, $"Volume {volume}: type=none needs o=bind and device=/host/dir.");
            if (o.Device is null || !o.Device.StartsWith('/'))
                throw new EngineException("InvalidVolumeOption", ErrorKind.InvalidArgument, volume, $"Volume {volume}: a bind volume needs device=/absolute/host/dir.");
        }
        else if (o.Type is not null and not "tmpfs" && o.Device is null)
            throw new EngineException("InvalidVolumeOption", ErrorKind.InvalidArgument, volume, $"Volume {volume}: type={o.Type} needs device=.");
        return o;
    }

    /// <summary>o split as mount(8) does: flag words become MS_* flags, the rest is the file system's data.</summary>
    public (ulong Flags, string? Data) SplitO()
    {
        ulong flags = 0;
        var data = new List<string>();
        foreach (string part in (O ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (Flags.TryGetValue(part, out ulong f)) flags |= f;
            else data.Add(part);
        }
        return (flags, data.Count > 0 ? string.Join(',', data) : null);
    }

    /// <summary>Mounts the volume's file system on its data directory.</summary>
    public void MountAt(string target)
    {
        var (flags, data) = SplitO();
        if (Type == "none")
        {
            if (!Directory.Exists(Device))
                throw new EngineException("VolumeDeviceNotFound", ErrorKind.ObjectNotFound, Device, $"The bind volume's device {Device} is not a directory.");
            Mounts.Mount(Device, target, null, flags & (Mounts.MS_BIND | Mounts.MS_REC), null);
            // A bind ignores other flags on the first call: read-only and friends need a remount.
            ulong rest = flags & ~(Mounts.MS_BIND | Mounts.MS_REC);
            if (rest != 0) Mounts.Mount(null, target, null, Mounts.MS_REMOUNT | Mounts.MS_BIND | rest, null);
            return;
        }
        Mounts.Mount(Device ?? Type, target, Type, flags, data);
    }
}
