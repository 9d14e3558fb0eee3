using System.Diagnostics;
using Microsoft.Data.Sqlite;
using PSContainer.Engine.Cgroups;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Storage;
using Xunit;

namespace PSContainer.Tests;

/// <summary>The host object ledger and the cgroup provider: entries outlive container records, removal goes
/// through the provider of the entry's kind, and an entry is forgotten only once its object is gone.</summary>
public sealed class HostObjectLedgerTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly HostObjectLedger ledger;

    public HostObjectLedgerTests() => ledger = new HostObjectLedger(new StateDb(dir.Combine("state.db")));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    /// <summary>A provider over plain directories, to watch the ledger's side alone.</summary>
    private sealed class DirectoryProvider(bool refuse = false) : IHostObjectProvider
    {
        public string Kind => "dir";
        public bool Exists(string name) => Directory.Exists(name);
        public void Remove(string name)
        {
            if (!refuse) Directory.Delete(name, recursive: true);
        }
    }

    [Fact]
    public void RecordsOnceAndListsByContainer()
    {
        ledger.Record("c1", "cgroup", "/pscontainer/c1");
        ledger.Record("c1", "cgroup", "/pscontainer/c1");
        ledger.Record("c2", "cgroup", "/other/c2");
        Assert.Equal("/pscontainer/c1", Assert.Single(ledger.Of("c1")).Name);
        Assert.Equal(["c1", "c2"], ledger.All().Select(e => e.ContainerId));
        ledger.Forget(ledger.Of("c2")[0]);
        Assert.Empty(ledger.Of("c2"));
    }

    [Fact]
    public void ForgetsAnEntryOnlyOnceItsObjectIsGone()
    {
        string made = dir.CreateDirectory("made"), stuck = dir.CreateDirectory("stuck");
        ledger.Record("c1", "dir", made);
        ledger.Record("c1", "dir", dir.Combine("never-made"));
        ledger.Record("c2", "dir", stuck);
        ledger.Record("c2", "unknown-kind", "x");

        var entries = ledger.All();
        Assert.True(ledger.RemoveWith([new DirectoryProvider()], entries.Single(e => e.Name == made)));
        Assert.False(Directory.Exists(made));
        // Recorded but never made (the maker was killed before it): forgotten, not reported as removed.
        Assert.False(ledger.RemoveWith([new DirectoryProvider()], entries.Single(e => e.Name.EndsWith("never-made", StringComparison.Ordinal))));
        Assert.Empty(ledger.Of("c1"));
        // Still there after its provider tried: the entry stays for the next Repair.
        Assert.False(ledger.RemoveWith([new DirectoryProvider(refuse: true)], entries.Single(e => e.Name == stuck)));
        Assert.False(ledger.RemoveWith([new DirectoryProvider()], entries.Single(e => e.Kind == "unknown-kind")));
        Assert.Equal(2, ledger.Of("c2").Count);
    }

    /// <summary>A provider whose objects other containers may hold (as a volume's mount is).</summary>
    private sealed class SharedDirectoryProvider(Func<HostObject, bool> heldByOthers) : IHostObjectProvider
    {
        public string Kind => "shared";
        public HostObjectScope Scope => HostObjectScope.Shared;
        public bool Exists(string name) => Directory.Exists(name);
        public void Remove(string name) => throw new InvalidOperationException("only the entry's overload is used");
        public void Remove(HostObject entry)
        {
            if (!heldByOthers(entry)) Directory.Delete(entry.Name);
        }
        public bool HeldByOthers(HostObject entry) => heldByOthers(entry);
    }

    [Fact]
    public void KeepsAPayloadPerEntryAndTheLatestOneWins()
    {
        ledger.Record("c1", "veth", "pscv1", """{"netns":"/run/x"}""");
        ledger.Record("c1", "veth", "pscv1", """{"netns":"/run/y"}""");
        ledger.Record("c1", "cgroup", "/p/c1");
        var entries = ledger.Of("c1");
        Assert.Equal("""{"netns":"/run/y"}""", entries.Single(e => e.Kind == "veth").Payload);
        Assert.Null(entries.Single(e => e.Kind == "cgroup").Payload);
    }

    [Fact]
    public void AnObjectAnotherContainerHoldsIsLeftAndOnlyThisContainersEntryForgotten()
    {
        string shared = dir.CreateDirectory("shared");
        var holders = new HashSet<string> { "c1", "c2" };
        var provider = new SharedDirectoryProvider(e => holders.Any(h => h != e.ContainerId));
        ledger.Record("c1", "shared", shared);
        ledger.Record("c2", "shared", shared);
        Assert.Equal(HostObjectScope.Shared, ((IHostObjectProvider)provider).Scope);
        Assert.Equal(HostObjectScope.Run, ((IHostObjectProvider)new DirectoryProvider()).Scope);

        Assert.False(ledger.RemoveWith([provider], ledger.Of("c1").Single()));
        Assert.True(Directory.Exists(shared));
        Assert.Empty(ledger.Of("c1"));
        holders.Remove("c1");
        Assert.True(ledger.RemoveWith([provider], ledger.Of("c2").Single()));
        Assert.False(Directory.Exists(shared));
        Assert.Empty(ledger.All());
    }

    [SkippableFact]
    public void CgroupProviderKillsWhatRunsInTheCgroupAndRemovesItsTree()
    {
        var driver = CgroupDriver.Detect();
        string parent = $"psc-unit-{Guid.NewGuid():N}", path = $"/{parent}/c1";
        var roots = driver.Version == 1
            ? new[] { "pids", "memory" }.Select(c => Path.Combine(driver.MountRoot, c)).Where(Directory.Exists).ToList()
            : [driver.MountRoot];
        Skip.If(roots.Count == 0, "no pids or memory cgroup hierarchy is mounted here");
        var made = new List<string>();
        Process? sleeper = null;
        try
        {
            foreach (string root in roots)
            {
                string d = Path.Combine(root, parent, "c1", "nested");
                try
                {
                    Directory.CreateDirectory(d);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Skip.If(true, $"cannot make a cgroup under {root} here ({e.Message})");
                }
                made.Add(Path.Combine(root, parent));
            }
            sleeper = Process.Start(new ProcessStartInfo("sleep", "60"))!;
            File.WriteAllText(Path.Combine(roots[0], parent, "c1", "nested", "cgroup.procs"), sleeper.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

            var provider = new CgroupProvider(driver);
            Assert.True(provider.Exists(path));
            ledger.Record("c1", CgroupProvider.KindName, path);
            Assert.True(ledger.RemoveWith([provider], Assert.Single(ledger.Of("c1"))));

            Assert.False(provider.Exists(path));
            Assert.Empty(ledger.Of("c1"));
            Assert.True(sleeper.WaitForExit(5000), "the process in the cgroup was not killed");
        }
        finally
        {
            if (sleeper is { HasExited: false }) sleeper.Kill();
            sleeper?.WaitForExit(5000);
            foreach (string p in made)
                foreach (string d in new[] { Path.Combine(p, "c1", "nested"), Path.Combine(p, "c1"), p }.Where(Directory.Exists))
                    Directory.Delete(d);
        }
    }
}
