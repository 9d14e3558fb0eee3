using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Volumes;

public sealed partial class VolumeStore
{
    /// <summary>
    /// docker volume prune's test-and-claim for one volume: in one IMMEDIATE transaction, a ready volume that no
    /// container uses is marked removing; false when it has a user, is not ready, or is gone. A New-Container that
    /// attaches the volume at the same moment either commits first (then the volume has a user and stays) or finds it
    /// removing and is refused (VolumeBeingRemoved): never a container using a deleted volume.
    /// </summary>
    public bool MarkRemovingIfUnused(string name) => db.Write((c, tx) =>
    {
        var state = c.Query(tx, "SELECT state FROM volumes WHERE name = $n", r => r.GetString(0), ("$n", name));
        if (state.Count == 0 || state[0] != Ready) return false;
        if (c.Query(tx, "SELECT 1 FROM volume_users WHERE volume = $n LIMIT 1", r => r.GetInt64(0), ("$n", name)).Count > 0) return false;
        c.Execute(tx, "UPDATE volumes SET state = $s WHERE name = $n", ("$s", Removing), ("$n", name));
        return true;
    });
}
