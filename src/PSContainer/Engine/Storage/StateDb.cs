using Microsoft.Data.Sqlite;

namespace PSContainer.Engine.Storage;

/// <summary>
/// The metadata store: one SQLite database in WAL mode shared by every pwsh session on the host. Each operation
/// opens a pooled connection and runs in a transaction, so two sessions never corrupt it and a uniqueness
/// constraint decides who wins a name.
/// </summary>
public sealed class StateDb
{
    private const int SchemaVersion = 1;
    private readonly string connectionString;

    public StateDb(string path)
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
        Migrate(c);
    }

    public SqliteConnection Open()
    {
        var c = new SqliteConnection(connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        // busy_timeout makes a writer wait for another session's transaction instead of failing at once.
        cmd.CommandText = "PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON;";
        cmd.ExecuteNonQuery();
        return c;
    }

    private static void Migrate(SqliteConnection c)
    {
        using var wal = c.CreateCommand();
        wal.CommandText = "PRAGMA journal_mode = WAL;";
        wal.ExecuteNonQuery();
        using var tx = c.BeginTransaction(deferred: false);
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS images(
                id TEXT PRIMARY KEY,
                manifest_digest TEXT NOT NULL,
                manifest_media_type TEXT NOT NULL,
                created TEXT,
                size INTEGER NOT NULL,
                architecture TEXT NOT NULL,
                os TEXT NOT NULL,
                variant TEXT,
                added TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS image_layers(
                image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                chain_id TEXT NOT NULL,
                diff_id TEXT NOT NULL,
                blob_digest TEXT NOT NULL,
                media_type TEXT NOT NULL,
                blob_size INTEGER NOT NULL,
                PRIMARY KEY(image_id, position));
            CREATE INDEX IF NOT EXISTS image_layers_chain ON image_layers(chain_id);
            CREATE TABLE IF NOT EXISTS tags(
                name TEXT PRIMARY KEY,
                image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE);
            CREATE TABLE IF NOT EXISTS repo_digests(
                name TEXT PRIMARY KEY,
                image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE);
            CREATE TABLE IF NOT EXISTS layers(
                chain_id TEXT PRIMARY KEY,
                diff_id TEXT NOT NULL,
                parent TEXT,
                size INTEGER NOT NULL,
                entries INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS containers(
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                image TEXT NOT NULL,
                image_id TEXT NOT NULL,
                created TEXT NOT NULL,
                options TEXT NOT NULL,
                command TEXT NOT NULL,
                state TEXT NOT NULL,
                exit_code INTEGER,
                oom_killed INTEGER NOT NULL DEFAULT 0,
                started_at TEXT,
                finished_at TEXT,
                pid INTEGER NOT NULL DEFAULT 0,
                monitor_pid INTEGER NOT NULL DEFAULT 0,
                monitor_start INTEGER NOT NULL DEFAULT 0,
                error TEXT);
            CREATE TABLE IF NOT EXISTS networks(
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                driver TEXT NOT NULL,
                subnet TEXT NOT NULL,
                gateway TEXT NOT NULL,
                ip_range TEXT,
                internal INTEGER NOT NULL DEFAULT 0,
                labels TEXT NOT NULL,
                bridge TEXT NOT NULL UNIQUE,
                created TEXT NOT NULL,
                dns_pid INTEGER NOT NULL DEFAULT 0,
                dns_start INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS network_endpoints(
                network_id TEXT NOT NULL REFERENCES networks(id),
                container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
                address TEXT NOT NULL,
                aliases TEXT NOT NULL,
                veth TEXT NOT NULL UNIQUE,
                ifname TEXT NOT NULL,
                position INTEGER NOT NULL,
                active INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY(network_id, container_id),
                UNIQUE(network_id, address));
            CREATE TABLE IF NOT EXISTS port_mappings(
                container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
                host_ip TEXT NOT NULL,
                host_port INTEGER NOT NULL,
                container_port INTEGER NOT NULL,
                protocol TEXT NOT NULL,
                UNIQUE(host_port, protocol));
            CREATE TABLE IF NOT EXISTS userns_ranges(
                slot INTEGER PRIMARY KEY,
                container_id TEXT NOT NULL UNIQUE REFERENCES containers(id) ON DELETE CASCADE,
                uid_start INTEGER NOT NULL,
                gid_start INTEGER NOT NULL,
                size INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS container_restarts(
                container_id TEXT PRIMARY KEY REFERENCES containers(id) ON DELETE CASCADE,
                restart_count INTEGER NOT NULL DEFAULT 0,
                stopped_by_user INTEGER NOT NULL DEFAULT 0,
                delay_ms INTEGER NOT NULL DEFAULT 0,
                restarter_pid INTEGER NOT NULL DEFAULT 0,
                restarter_start INTEGER NOT NULL DEFAULT 0);
            INSERT OR IGNORE INTO meta(key, value) VALUES('schema', '1');
            """;
        cmd.ExecuteNonQuery();
        cmd.CommandText = "SELECT value FROM meta WHERE key = 'schema'";
        int version = int.Parse((string)cmd.ExecuteScalar()!, System.Globalization.CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
            throw new EngineException("StateTooNew", ErrorKind.InvalidOperation, null,
                $"The state database was written by a newer PSContainer (schema {version}); this one knows schema {SchemaVersion}.");
        tx.Commit();
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
