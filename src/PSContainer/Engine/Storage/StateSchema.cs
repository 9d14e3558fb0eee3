using System.Globalization;
using Microsoft.Data.Sqlite;

namespace PSContainer.Engine.Storage;

/// <summary>One step of the state database's schema: <see cref="Apply"/> turns version <c>Version - 1</c> into
/// <see cref="Version"/>. Steps run inside the opening transaction, so a step that fails leaves the database as it
/// was.</summary>
public sealed record StateMigration(int Version, string Name, Action<SqliteConnection, SqliteTransaction> Apply);

/// <summary>
/// The state database's schema version and the ordered steps that reach it. The version lives in SQLite's
/// <c>PRAGMA user_version</c> (in the file header, so it changes atomically with the tables); the <c>meta</c> row
/// <c>schema</c> mirrors it because versions before migrations recorded only that row and refuse a root whose row
/// names a newer schema. A root with no user_version but a <c>schema</c> row was made before migrations existed and
/// is taken at that version and stamped.
/// </summary>
public static class StateSchema
{
    /// <summary>Every step in order. Version 1 is the schema as it stood when versions were introduced; its
    /// statements are idempotent (IF NOT EXISTS) because unstamped roots of that version already hold them.
    /// Append new steps; never edit a released one.</summary>
    public static readonly IReadOnlyList<StateMigration> Migrations =
    [
        new(1, "initial schema", CreateInitialSchema),
        new(2, "host object ledger", CreateHostObjectLedger),
        new(3, "volume tables for roots that never used volumes", CreateVolumeTables),
        new(4, "host object payload", AddHostObjectPayload),
    ];

    public static int Latest => Migrations[^1].Version;

    /// <summary>Brings the database on <paramref name="c"/> to the last of <paramref name="migrations"/> in one
    /// IMMEDIATE transaction: concurrent openers wait, and the second sees the first's result.</summary>
    internal static void Upgrade(SqliteConnection c, IReadOnlyList<StateMigration> migrations)
    {
        CheckOrdered(migrations);
        int latest = migrations[^1].Version;
        using var tx = c.BeginTransaction(deferred: false);
        int stamped = UserVersion(c, tx);
        int version = stamped != 0 ? stamped : UnstampedVersion(c, tx);
        if (version > latest)
            throw new EngineException("StateTooNew", ErrorKind.InvalidOperation, null,
                $"The state database was written by a newer PSContainer (schema {version}); this one knows schema {latest}. " +
                "Use the newer PSContainer or a different state root; this database was left unchanged.");
        foreach (var step in migrations)
        {
            if (step.Version <= version) continue;
            try
            {
                step.Apply(c, tx);
            }
            catch (Exception e) when (e is SqliteException or InvalidOperationException or IOException)
            {
                throw new EngineException("StateMigrationFailed", ErrorKind.InvalidData, null,
                    $"Upgrading the state database to schema {step.Version} ({step.Name}) failed: {e.Message}. " +
                    $"The database was left at schema {version}.", e);
            }
        }
        if (stamped != latest)
        {
            c.Execute(tx, $"PRAGMA user_version = {latest.ToString(CultureInfo.InvariantCulture)}");
            c.Execute(tx, "INSERT INTO meta(key, value) VALUES('schema', $v) ON CONFLICT(key) DO UPDATE SET value = $v",
                ("$v", latest.ToString(CultureInfo.InvariantCulture)));
        }
        tx.Commit();
    }

    private static int UserVersion(SqliteConnection c, SqliteTransaction tx)
    {
        using var pragma = c.Command(tx, "PRAGMA user_version");
        return Convert.ToInt32(pragma.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>The version of a root made before migrations, from its <c>meta</c> row (0 for an empty database).</summary>
    private static int UnstampedVersion(SqliteConnection c, SqliteTransaction tx)
    {
        using var hasMeta = c.Command(tx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
        if (Convert.ToInt64(hasMeta.ExecuteScalar(), CultureInfo.InvariantCulture) == 0) return 0;
        using var row = c.Command(tx, "SELECT value FROM meta WHERE key = 'schema'");
        return row.ExecuteScalar() is string text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int legacy)
            ? legacy : 0;
    }

    private static void CheckOrdered(IReadOnlyList<StateMigration> migrations)
    {
        for (int i = 0; i < migrations.Count; i++)
            if (migrations[i].Version != i + 1)
                throw new ArgumentException($"State migrations must be numbered 1, 2, 3, ... in order; step {i} is {migrations[i].Version}.", nameof(migrations));
    }

    /// <summary>The ledger of host objects the container providers make (HostObjectLedger). No foreign key to
    /// containers: an entry must outlive a record whose removal was killed, so Repair can still find the object.</summary>
    private static void CreateHostObjectLedger(SqliteConnection c, SqliteTransaction tx) => c.Execute(tx, """
        CREATE TABLE host_objects(
            container_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            recorded TEXT NOT NULL,
            PRIMARY KEY(container_id, kind, name));
        """);

    /// <summary>A provider's own data for an entry (JSON by convention) when its key alone cannot say how to remove
    /// the object; null for the kinds that need none.</summary>
    private static void AddHostObjectPayload(SqliteConnection c, SqliteTransaction tx) =>
        c.Execute(tx, "ALTER TABLE host_objects ADD COLUMN payload TEXT");

    /// <summary>Before migrations, VolumeStore made its two tables on first use, so a root stamped at version 1
    /// (or 2) that never used a volume lacks them; the statements are version 1's, idempotent.</summary>
    private static void CreateVolumeTables(SqliteConnection c, SqliteTransaction tx) => c.Execute(tx, VolumeTables);

    private const string VolumeTables = """
                CREATE TABLE IF NOT EXISTS volumes(
                    name TEXT PRIMARY KEY,
                    driver TEXT NOT NULL,
                    options TEXT NOT NULL,
                    labels TEXT NOT NULL,
                    created TEXT NOT NULL,
                    anonymous INTEGER NOT NULL DEFAULT 0,
                    state TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS volume_users(
                    volume TEXT NOT NULL REFERENCES volumes(name),
                    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
                    PRIMARY KEY(volume, container_id));
            """;

    private static void CreateInitialSchema(SqliteConnection c, SqliteTransaction tx) => c.Execute(tx, """
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
            """ + VolumeTables);
}
