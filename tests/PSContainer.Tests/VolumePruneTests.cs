using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Storage;
using PSContainer.Engine.Volumes;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// docker volume prune's claim (one transaction: still unused and ready, then removing) against the state db, and the
/// -VolumesFrom text rules.
/// </summary>
public sealed class VolumePruneTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly StateDb db;
    private readonly VolumeStore store;

    public VolumePruneTests()
    {
        db = new StateDb(dir.Combine("state.db"));
        store = new VolumeStore(db);
    }

    public void Dispose() => dir.Dispose();

    private void Container(string id) => db.Write((c, tx) => c.Execute(tx,
        "INSERT INTO containers(id, name, image, image_id, created, options, command, state) VALUES($id, $id, 'i', 'i', '2020-01-01T00:00:00Z', '{}', '[]', 'Exited')", ("$id", id)));

    private void Volume(string name, string state) =>
        store.Insert(new VolumeRecord(name, "local", new(), new(), DateTime.UtcNow, false, state));

    [Fact]
    public void Claims_only_a_ready_volume_nobody_uses()
    {
        Volume("free", VolumeStore.Ready);
        Volume("used", VolumeStore.Ready);
        Volume("making", VolumeStore.Creating);
        Container("c1");
        store.Attach("c1", [("used", false)]);

        Assert.True(store.MarkRemovingIfUnused("free"));
        Assert.Equal(VolumeStore.Removing, store.Get("free")!.State);
        Assert.False(store.MarkRemovingIfUnused("free"));      // already claimed by this (or another) prune
        Assert.False(store.MarkRemovingIfUnused("used"));      // a stopped container's volume stays
        Assert.Equal(VolumeStore.Ready, store.Get("used")!.State);
        Assert.False(store.MarkRemovingIfUnused("making"));    // New-ContainerVolume has not finished it
        Assert.False(store.MarkRemovingIfUnused("nosuch"));
    }

    [Fact]
    public void A_container_attached_after_the_claim_is_refused_and_one_attached_before_keeps_the_volume()
    {
        Volume("v", VolumeStore.Ready);
        Container("early");
        store.Attach("early", [("v", false)]);
        Assert.False(store.MarkRemovingIfUnused("v"));
        db.Write((c, tx) => c.Execute(tx, "DELETE FROM containers WHERE id = 'early'"));   // its user row goes with it (cascade)
        Assert.True(store.MarkRemovingIfUnused("v"));
        Container("late");
        var e = Assert.Throws<EngineException>(() => store.Attach("late", [("v", false)]));
        Assert.Equal("VolumeBeingRemoved", e.ErrorId);
        Assert.Empty(store.UserIds("v"));
    }

    [Theory]
    [InlineData("web", "web", null)]
    [InlineData("web:ro", "web", true)]
    [InlineData("web:rw", "web", false)]
    [InlineData("0123abcd", "0123abcd", null)]
    public void VolumesFrom_forms(string text, string container, bool? readOnly) =>
        Assert.Equal((container, readOnly), ContainerManager.ParseVolumesFrom(text));

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(":ro")]
    [InlineData("web:z")]
    [InlineData("web:ro:rw")]
    [InlineData("web:")]
    public void Bad_VolumesFrom(string text)
    {
        var e = Assert.Throws<EngineException>(() => ContainerManager.ParseVolumesFrom(text));
        Assert.Equal("InvalidVolumesFrom", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }
}
