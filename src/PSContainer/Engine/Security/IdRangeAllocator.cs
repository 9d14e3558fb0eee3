using Microsoft.Data.Sqlite;
using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Security;

/// <summary>A container's share of the subordinate ids: slot k is the k-th block of the uid and of the gid ranges.</summary>
public sealed record IdRange(int Slot, long UidStart, long GidStart, long Size)
{
    public IdMapping UidMap => new(0, UidStart, Size);
    public IdMapping GidMap => new(0, GidStart, Size);
}

/// <summary>
/// Hands out the blocks of 65536 ids Auto user namespaces use, one per container, recorded in the state database
/// (table userns_ranges, one row per container, deleted with the container's row by its foreign key). The slot is
/// the primary key and allocation runs in one IMMEDIATE transaction, so two sessions never get the same block; a
/// removed container's block is the first one the next container gets.
/// </summary>
public sealed class IdRangeAllocator
{
    private readonly StateDb db;

    public IdRangeAllocator(StateDb db) => this.db = db;

    /// <summary>The lowest slot no live container holds, or -1 when all <paramref name="capacity"/> are taken.</summary>
    public static int FirstFree(IReadOnlyCollection<int> used, int capacity)
    {
        var set = used as IReadOnlySet<int> ?? used.ToHashSet();
        for (int k = 0; k < capacity; k++)
            if (!set.Contains(k)) return k;
        return -1;
    }

    /// <summary>Records a block for the container (whose row must exist) and returns it.</summary>
    public IdRange Allocate(string containerId, IReadOnlyList<long> uidBlocks, IReadOnlyList<long> gidBlocks, long size) =>
        db.Write((c, tx) => Allocate(c, tx, containerId, uidBlocks, gidBlocks, size));

    /// <summary>
    /// Records a block in the caller's IMMEDIATE transaction: the one that inserts the container's row, so a
    /// container never exists without its range (and no second write is paid for it).
    /// </summary>
    internal static IdRange Allocate(SqliteConnection c, SqliteTransaction tx, string containerId, IReadOnlyList<long> uidBlocks, IReadOnlyList<long> gidBlocks, long size)
    {
        int capacity = Math.Min(uidBlocks.Count, gidBlocks.Count);
        var used = c.Query(tx, "SELECT slot FROM userns_ranges", r => r.GetInt32(0));
        int slot = FirstFree(used, capacity);
        if (slot < 0)
            throw new EngineException("UserNamespaceRangesExhausted", ErrorKind.ResourceUnavailable, containerId,
                $"All {capacity} id ranges of the '{SubordinateIds.User}' user are in use: remove containers, or give the user more ids in {SubordinateIds.SubuidPath} and {SubordinateIds.SubgidPath}.");
        var range = new IdRange(slot, uidBlocks[slot], gidBlocks[slot], size);
        c.Execute(tx, "INSERT INTO userns_ranges(slot, container_id, uid_start, gid_start, size) VALUES($slot, $id, $uid, $gid, $size)",
            ("$slot", slot), ("$id", containerId), ("$uid", range.UidStart), ("$gid", range.GidStart), ("$size", size));
        return range;
    }

    public IdRange? Of(string containerId) => db.Read(c => c.Query(null,
        "SELECT slot, uid_start, gid_start, size FROM userns_ranges WHERE container_id = $id",
        r => new IdRange(r.GetInt32(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)), ("$id", containerId))).FirstOrDefault();

    /// <summary>Frees the container's block (removing its row does the same through the foreign key).</summary>
    public void Free(string containerId) => db.Write((c, tx) => c.Execute(tx, "DELETE FROM userns_ranges WHERE container_id = $id", ("$id", containerId)));

    public IReadOnlyList<IdRange> All() => db.Read(c => c.Query(null, "SELECT slot, uid_start, gid_start, size FROM userns_ranges ORDER BY slot",
        r => new IdRange(r.GetInt32(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3))));
}
