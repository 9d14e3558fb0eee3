using Microsoft.Data.Sqlite;
using PSContainer.Engine.Storage;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// Which writes of the state database wait for an fsync: a relaxed write (a container's state, which Reconcile can
/// derive again) commits with synchronous = NORMAL, every other write with FULL, also on a pooled connection that a
/// relaxed write used just before, and what a relaxed write commits is there for the next reader.
/// </summary>
public sealed class StateDbDurabilityTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    private static long Synchronous(SqliteConnection c, SqliteTransaction? tx)
    {
        using var cmd = c.Command(tx, "PRAGMA synchronous");
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void RelaxedWritesSkipTheFsyncAndLeaveNoRelaxedConnectionBehind()
    {
        var db = new StateDb(dir.Combine("state.db"));
        const long Normal = 1, Full = 2;
        long during = -1;
        db.Write((c, tx) => c.Execute(tx, "CREATE TABLE t(v INTEGER)"));
        db.WriteRelaxed((c, tx) =>
        {
            during = Synchronous(c, tx);
            c.Execute(tx, "INSERT INTO t(v) VALUES(1)");
        });
        Assert.Equal(Normal, during);

        // The pool hands the same connection back: a durable write must not inherit NORMAL from it.
        Assert.Equal(Full, db.Write((c, tx) => Synchronous(c, tx)));
        using (var c = db.Open()) Assert.Equal(Full, Synchronous(c, null));
        Assert.Equal(1L, db.Read(c =>
        {
            using var cmd = c.Command(null, "SELECT count(*) FROM t WHERE v = 1");
            return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }));
        Assert.Equal("wal", db.Read(c =>
        {
            using var cmd = c.Command(null, "PRAGMA journal_mode");
            return (string)cmd.ExecuteScalar()!;
        }));
    }

    [Fact]
    public void ARelaxedWriteThatFailsCommitsNothing()
    {
        var db = new StateDb(dir.Combine("state.db"));
        db.Write((c, tx) => c.Execute(tx, "CREATE TABLE t(v INTEGER)"));
        Assert.Throws<InvalidOperationException>(() => db.WriteRelaxed((c, tx) =>
        {
            c.Execute(tx, "INSERT INTO t(v) VALUES(1)");
            throw new InvalidOperationException("failed half way");
        }));
        Assert.Equal(0L, db.Read(c =>
        {
            using var cmd = c.Command(null, "SELECT count(*) FROM t");
            return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }));
    }
}
