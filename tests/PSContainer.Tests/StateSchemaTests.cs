using Microsoft.Data.Sqlite;
using PSContainer.Engine;
using PSContainer.Engine.Storage;
using PSContainer.Engine.Volumes;
using Xunit;

namespace PSContainer.Tests;

/// <summary>The state database's schema version: roots made before migrations are recognised and stamped, a newer
/// schema is refused untouched, and a failing migration leaves the database as it was.</summary>
public sealed class StateSchemaTests : IDisposable
{
    private readonly TempDir dir = new();
    private string DbPath => dir.Combine("state.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    private SqliteConnection Raw()
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        c.Open();
        return c;
    }

    private long Scalar(string sql)
    {
        using var c = Raw();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private void Run(string sql)
    {
        using var c = Raw();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private long TableCount(string name) => Scalar($"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{name}'");

    [Fact]
    public void RootMadeBeforeMigrationsIsStampedAndKeepsItsRows()
    {
        Run(File.ReadAllText(RepoTree.Combine("tests", "PSContainer.Tests", "Fixtures", "state-schema-unstamped-v1.sql")));
        Run("""
            INSERT INTO containers(id, name, image, image_id, created, options, command, state)
                VALUES('c1', 'old-one', 'alpine', 'sha256:aa', '2026-01-01T00:00:00Z', '{}', '[]', 'exited');
            INSERT INTO volumes(name, driver, options, labels, created, anonymous, state)
                VALUES('data', 'local', '{}', '{}', '2026-01-01T00:00:00Z', 0, 'ready');
            INSERT INTO volume_users(volume, container_id) VALUES('data', 'c1');
            """);
        Assert.Equal(0, Scalar("PRAGMA user_version"));

        var db = new StateDb(DbPath);

        Assert.Equal(StateSchema.Latest, Scalar("PRAGMA user_version"));
        Assert.Equal(StateSchema.Latest, Scalar("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema'"));
        Assert.Equal(1, Scalar("SELECT count(*) FROM containers WHERE name = 'old-one'"));
        Assert.Equal("data", Assert.Single(new VolumeStore(db).All()).Name);
        Assert.Equal(1, Scalar("SELECT count(*) FROM volume_users"));
        // Every later step ran too: the ledger of host objects exists, empty.
        Assert.Equal(0, Scalar("SELECT count(*) FROM host_objects"));
        Assert.Equal(1, Scalar("SELECT count(*) FROM pragma_table_info('host_objects') WHERE name = 'payload'"));
    }

    [Fact]
    public void RootThatNeverUsedVolumesGetsTheirTables()
    {
        // Before migrations VolumeStore made its tables on first use: a root that never used a volume has the
        // schema row of version 1 and no volume tables.
        Run(File.ReadAllText(RepoTree.Combine("tests", "PSContainer.Tests", "Fixtures", "state-schema-unstamped-v1.sql")));
        Run("DROP TABLE volume_users; DROP TABLE volumes;");

        var db = new StateDb(DbPath);

        Assert.Equal(1, TableCount("volumes"));
        Assert.Equal(1, TableCount("volume_users"));
        Assert.Empty(new VolumeStore(db).All());
    }

    [Fact]
    public void NewDatabaseIsCreatedAtTheLatestVersionAndReopensUnchanged()
    {
        _ = new StateDb(DbPath);
        Assert.Equal(StateSchema.Latest, Scalar("PRAGMA user_version"));
        Assert.Equal(1, TableCount("volumes"));
        Run("INSERT INTO meta(key, value) VALUES('marker', 'kept')");
        _ = new StateDb(DbPath);
        Assert.Equal(StateSchema.Latest, Scalar("PRAGMA user_version"));
        Assert.Equal(1, Scalar("SELECT count(*) FROM meta WHERE key = 'marker'"));
    }

    [Fact]
    public void NewerSchemaIsRefusedAndLeftUntouched()
    {
        _ = new StateDb(DbPath);
        int future = StateSchema.Latest + 1;
        Run($"PRAGMA user_version = {future}; CREATE TABLE from_the_future(x);");
        SqliteConnection.ClearAllPools();

        var e = Assert.Throws<EngineException>(() => new StateDb(DbPath));

        Assert.Equal("StateTooNew", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidOperation, e.Kind);
        Assert.Contains($"schema {future}", e.Message);
        Assert.Equal(future, Scalar("PRAGMA user_version"));
        Assert.Equal(1, TableCount("from_the_future"));
    }

    [Fact]
    public void NewerSchemaRecordedOnlyInTheMetaRowIsRefused()
    {
        Run("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES('schema', '99');");
        Assert.Equal("StateTooNew", Assert.Throws<EngineException>(() => new StateDb(DbPath)).ErrorId);
        Assert.Equal(0, Scalar("PRAGMA user_version"));
        Assert.Equal(0, TableCount("containers"));
    }

    [Fact]
    public void MigrationFailingMidwayRollsBackEveryStepOfTheOpen()
    {
        _ = new StateDb(DbPath);
        SqliteConnection.ClearAllPools();
        int next = StateSchema.Latest + 1;
        List<StateMigration> steps =
        [
            .. StateSchema.Migrations,
            new(next, "adds a table", (c, tx) => c.Execute(tx, "CREATE TABLE step_one(x); INSERT INTO step_one VALUES(1);")),
            new(next + 1, "half made then fails", (c, tx) =>
            {
                c.Execute(tx, "CREATE TABLE half_made(x)");
                c.Execute(tx, "INSERT INTO no_such_table VALUES(1)");
            }),
        ];

        var e = Assert.Throws<EngineException>(() => new StateDb(DbPath, steps));

        Assert.Equal("StateMigrationFailed", e.ErrorId);
        Assert.Contains($"schema {next + 1}", e.Message);
        Assert.IsType<SqliteException>(e.InnerException);
        Assert.Equal(StateSchema.Latest, Scalar("PRAGMA user_version"));
        Assert.Equal(0, TableCount("step_one"));
        Assert.Equal(0, TableCount("half_made"));

        // The same list without the failing step upgrades: the steps run from where the database stands.
        _ = new StateDb(DbPath, steps.Take(steps.Count - 1).ToList());
        Assert.Equal(next, Scalar("PRAGMA user_version"));
        Assert.Equal(1, Scalar("SELECT count(*) FROM step_one"));
    }

    [Fact]
    public void StepsOutOfOrderAreRejected()
    {
        List<StateMigration> steps = [.. StateSchema.Migrations, new(StateSchema.Latest + 2, "skips one", (_, _) => { })];
        Assert.Throws<ArgumentException>(() => new StateDb(DbPath, steps));
    }
}
