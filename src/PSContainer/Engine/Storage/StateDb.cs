using Microsoft.Data.Sqlite;

namespace PSContainer.Engine.Storage;

/// <summary>
/// The metadata store: one SQLite database in WAL mode shared by every pwsh session on the host. Each operation
/// opens a pooled connection and runs in a transaction, so two sessions never corrupt it and a uniqueness
/// constraint decides who wins a name.
/// </summary>
public sealed class StateDb
{
    private readonly string connectionString;

    public StateDb(string path) : this(path, StateSchema.Migrations)
    {
    }

    /// <summary>Opens the database at <paramref name="path"/> and brings it to the last of
    /// <paramref name="migrations"/> (tests pass their own list to prove a failing step leaves nothing behind).</summary>
    internal StateDb(string path, IReadOnlyList<StateMigration> migrations)
    {
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 60,
        }.ToString();
        using var c = Open();
        Migrate(c, migrations);
    }

    public SqliteConnection Open() => Open(durable: true);

    private SqliteConnection Open(bool durable)
    {
        var c = new SqliteConnection(connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        // busy_timeout makes a writer wait for another session's transaction instead of failing at once.
        // synchronous is set on every open: a pooled connection keeps what the last user of it chose.
        cmd.CommandText = durable
            ? "PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
            : "PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";
        cmd.ExecuteNonQuery();
        return c;
    }

    private static void Migrate(SqliteConnection c, IReadOnlyList<StateMigration> migrations)
    {
        using var wal = c.CreateCommand();
        wal.CommandText = "PRAGMA journal_mode = WAL;";
        wal.ExecuteNonQuery();
        StateSchema.Upgrade(c, migrations);
    }

    /// <summary>Runs <paramref name="work"/> in an IMMEDIATE transaction (the write lock is taken up front, so two
    /// writers serialize instead of deadlocking on upgrade).</summary>
    public T Write<T>(Func<SqliteConnection, SqliteTransaction, T> work)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        T result = work(c, tx);
        tx.Commit();
        return result;
    }

    public void Write(Action<SqliteConnection, SqliteTransaction> work) => Write<object?>((c, t) => { work(c, t); return null; });

    /// <summary>
    /// Like <see cref="Write{T}"/>, for a row the engine can derive again from the host (a container's state, pid
    /// and exit, which Reconcile reads back from its monitor and exit file): committed with synchronous = NORMAL,
    /// so the commit does not wait for an fsync of the WAL. A session killed right after still leaves the
    /// transaction in the database (the WAL is written before the commit returns; only the fsync is skipped), and
    /// the database stays consistent after a power cut (WAL frames are checksummed); what a power cut can lose is
    /// this transaction and other relaxed ones after the last fsync: never one that a later durable write (or a
    /// checkpoint) synced, since that fsync covers every frame before it in the WAL.
    /// </summary>
    public void WriteRelaxed(Action<SqliteConnection, SqliteTransaction> work)
    {
        using var c = Open(durable: false);
        using var tx = c.BeginTransaction(deferred: false);
        work(c, tx);
        tx.Commit();
    }

    public T Read<T>(Func<SqliteConnection, T> work)
    {
        using var c = Open();
        return work(c);
    }
}

internal static class SqliteExtensions
{
    public static SqliteCommand Command(this SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    public static int Execute(this SqliteConnection c, SqliteTransaction? tx, string sql, params (string, object?)[] parameters)
    {
        using var cmd = c.Command(tx, sql, parameters);
        return cmd.ExecuteNonQuery();
    }

    public static List<T> Query<T>(this SqliteConnection c, SqliteTransaction? tx, string sql, Func<SqliteDataReader, T> map, params (string, object?)[] parameters)
    {
        using var cmd = c.Command(tx, sql, parameters);
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read()) list.Add(map(r));
        return list;
    }
}
