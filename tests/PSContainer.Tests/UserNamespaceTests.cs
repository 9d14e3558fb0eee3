using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Security;
using PSContainer.Engine.Storage;
using PSContainer.Native;
using Xunit;

namespace PSContainer.Tests;

public sealed class UserNamespaceSettingTests
{
    [Theory]
    [InlineData("host", "host")]
    [InlineData("Host", "host")]
    [InlineData("AUTO", "auto")]
    [InlineData(" 0:100000:65536 ", "0:100000:65536")]
    [InlineData("0:4294901759:65536", "0:4294901759:65536")]
    public void ParsesAndCanonicalises(string text, string canonical) =>
        Assert.Equal(canonical, UserNamespaceSetting.Parse(text).ToString());

    [Theory]
    [InlineData("")]
    [InlineData("private")]
    [InlineData("0:100000")]
    [InlineData("1:100000:65536")] // root inside would be unmapped
    [InlineData("0:100000:0")]
    [InlineData("0:-1:10")]
    [InlineData("0:4294901760:65536")] // past 2^32-2
    [InlineData("0:99999999999999999999:1")]
    public void RefusesWithAStableId(string text)
    {
        var e = Assert.Throws<EngineException>(() => UserNamespaceSetting.Parse(text));
        Assert.Equal("InvalidUserNamespace", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public void MappedKeepsItsMap()
    {
        var s = UserNamespaceSetting.Parse("0:200000:1000");
        Assert.Equal(UserNamespaceKind.Mapped, s.Kind);
        Assert.Equal(new IdMapping(0, 200000, 1000), s.Map);
    }
}

public sealed class SubordinateIdsTests
{
    private const string File = """
        # comment
        alice:100000:65536
        pscontainer:16777216:196608

        999:16973824:65536
        broken line
        bob:x:10
        zero:1:0
        pscontainer:300000:1000
        """;

    [Fact]
    public void ParsesValidLinesAndSkipsTheRest()
    {
        var ranges = SubordinateIds.Parse(File);
        Assert.Equal(4, ranges.Count);
        Assert.Equal(new SubordinateRange("alice", 100000, 65536), ranges[0]);
        Assert.Equal(new SubordinateRange("999", 16973824, 65536), ranges[2]);
    }

    [Fact]
    public void BlocksAreWholeRangesOfTheOwnerByNameOrUid()
    {
        var ranges = SubordinateIds.Parse(File);
        // 3 blocks in the named line, 1 in the line by uid 999, none in the 1000-id line (too small for a block)
        Assert.Equal(new long[] { 16777216, 16842752, 16908288, 16973824 }, SubordinateIds.Blocks(ranges, "pscontainer", "999", 65536));
        Assert.Equal(new long[] { 16777216, 16842752, 16908288 }, SubordinateIds.Blocks(ranges, "pscontainer", null, 65536));
        Assert.Empty(SubordinateIds.Blocks(ranges, "nobody", "12345", 65536));
    }

    [Fact]
    public void FreeStartIsPastEveryRangeAlignedAndHigh()
    {
        Assert.Equal(SubordinateIds.LowestStart, SubordinateIds.FreeStart([]));
        Assert.Equal(SubordinateIds.LowestStart, SubordinateIds.FreeStart(SubordinateIds.Parse("alice:100000:65536")));
        long start = SubordinateIds.FreeStart(SubordinateIds.Parse("x:16777216:100001"));
        Assert.Equal(16777216 + 2 * 65536, start);
        Assert.Equal(0, start % 65536);
    }
}

public sealed class IdRangeAllocatorTests
{
    [Fact]
    public void FirstFreeIsTheLowestUnusedSlot()
    {
        Assert.Equal(0, IdRangeAllocator.FirstFree([], 3));
        Assert.Equal(1, IdRangeAllocator.FirstFree([0, 2], 3));
        Assert.Equal(-1, IdRangeAllocator.FirstFree([0, 1, 2], 3));
        Assert.Equal(-1, IdRangeAllocator.FirstFree([], 0));
    }

    private static void AddContainer(ContainerStore store, string id) => store.Insert(new ContainerRecord
    {
        Id = id, Name = "c" + id, Image = "i", ImageId = "i", Created = DateTime.UtcNow, State = ContainerState.Created,
    });

    [Fact]
    public void RangesAreDisjointRecordedAndFreedWithTheContainerRow()
    {
        using var dir = new TempDir();
        var db = new StateDb(dir.Combine("state.db"));
        var store = new ContainerStore(db);
        var alloc = new IdRangeAllocator(db);
        long[] uids = [1 << 24, (1 << 24) + 65536, (1 << 24) + 131072];
        long[] gids = [1 << 25, (1 << 25) + 65536, (1 << 25) + 131072];
        foreach (string id in new[] { "a", "b", "c" }) AddContainer(store, id);

        var a = alloc.Allocate("a", uids, gids, 65536);
        var b = alloc.Allocate("b", uids, gids, 65536);
        Assert.Equal((0, uids[0], gids[0]), (a.Slot, a.UidStart, a.GidStart));
        Assert.Equal((1, uids[1], gids[1]), (b.Slot, b.UidStart, b.GidStart));
        Assert.Equal(b, alloc.Of("b"));
        Assert.Equal(new IdMapping(0, uids[1], 65536), b.UidMap);

        store.Delete("a"); // the foreign key frees a's range
        Assert.Null(alloc.Of("a"));
        var c = alloc.Allocate("c", uids, gids, 65536);
        Assert.Equal(0, c.Slot);

        AddContainer(store, "d");
        AddContainer(store, "e");
        alloc.Allocate("d", uids, gids, 65536);
        var full = Assert.Throws<EngineException>(() => alloc.Allocate("e", uids, gids, 65536));
        Assert.Equal("UserNamespaceRangesExhausted", full.ErrorId);
        Assert.Equal(3, alloc.All().Count);
    }

    [Fact]
    public void TheSameContainerCannotHoldTwoRanges()
    {
        using var dir = new TempDir();
        var db = new StateDb(dir.Combine("state.db"));
        AddContainer(new ContainerStore(db), "a");
        var alloc = new IdRangeAllocator(db);
        alloc.Allocate("a", [1 << 24, (1 << 24) + 65536], [1 << 24, (1 << 24) + 65536], 65536);
        Assert.ThrowsAny<Exception>(() => alloc.Allocate("a", [1 << 24, (1 << 24) + 65536], [1 << 24, (1 << 24) + 65536], 65536));
        Assert.Single(alloc.All());
    }

    [Fact]
    public void ConcurrentAllocationsNeverShareASlot()
    {
        using var dir = new TempDir();
        var db = new StateDb(dir.Combine("state.db"));
        var store = new ContainerStore(db);
        var blocks = Enumerable.Range(0, 32).Select(i => (1L << 24) + i * 65536L).ToArray();
        for (int i = 0; i < 32; i++) AddContainer(store, "k" + i);
        var slots = new System.Collections.Concurrent.ConcurrentBag<int>();
        Parallel.For(0, 32, i => slots.Add(new IdRangeAllocator(db).Allocate("k" + i, blocks, blocks, 65536).Slot));
        Assert.Equal(Enumerable.Range(0, 32), slots.OrderBy(s => s));
    }
}

public sealed class OwnershipShiftTests
{
    [SkippableFact]
    public void ShiftsEveryOwnerOnceKeepingSetIdBitsAndNotFollowingSymlinks()
    {
        Skip.IfNot(Tmds.Linux.LibC.geteuid() == 0, "chown needs root");
        using var dir = new TempDir();
        string root = dir.CreateDirectory("tree");
        string file = System.IO.Path.Combine(root, "suid");
        System.IO.File.WriteAllText(file, "x");
        OwnershipShift.Chown(file, 0, 0);
        System.IO.File.SetUnixFileMode(file, (UnixFileMode)Convert.ToInt32("4755", 8));
        string link = System.IO.Path.Combine(root, "hard");
        System.Diagnostics.Process.Start("/bin/ln", [file, link])!.WaitForExit();
        Assert.True(System.IO.File.Exists(link));
        string nobody = System.IO.Path.Combine(root, "nobody");
        System.IO.File.WriteAllText(nobody, "y");
        OwnershipShift.Chown(nobody, 70000, 1000);
        System.IO.File.CreateSymbolicLink(System.IO.Path.Combine(root, "out"), "/etc/passwd");
        var passwdBefore = Posix.Stat("/etc/passwd");

        OwnershipShift.ShiftTree(root, 200000, 300000, 65536);

        var f = Posix.Stat(file);
        Assert.Equal((200000u, 300000u), (f.Uid, f.Gid)); // shifted once though it has two names
        Assert.Equal(Convert.ToUInt32("4755", 8), f.Mode & 0xFFF);
        var n = Posix.Stat(nobody);
        Assert.Equal((200000u + 65534, 300000u + 1000), (n.Uid, n.Gid)); // past the range: overflow id
        Assert.Equal((200000u, 300000u), (Posix.Stat(System.IO.Path.Combine(root, "out")).Uid, Posix.Stat(System.IO.Path.Combine(root, "out")).Gid));
        Assert.Equal(passwdBefore.Uid, Posix.Stat("/etc/passwd").Uid);
        Assert.Equal(200000u, Posix.Stat(root).Uid);
    }
}

public sealed class UserNamespaceRulesTests
{
    private static readonly SubordinateRange[] Auto = [new("pscontainer", 16777216, 65536 * 1024)];

    [Fact]
    public void NoHostOnlyOptionsByDefault() => Assert.Empty(UserNamespaceRules.HostOnlyOptions(new ContainerOptions { Image = "x" }));

    [Fact]
    public void ListsEveryOptionThatNeedsTheHostsUserNamespace()
    {
        var o = new ContainerOptions
        {
            Image = "x", Privileged = true, PidMode = "host", IpcMode = "host", UtsMode = "host", Network = "host",
            Sysctls = new() { ["net.ipv4.ip_forward"] = "1", ["kernel.shmmax"] = "1" },
        };
        Assert.Equal(["-Privileged", "-Pid host", "-Ipc host", "-Uts host", "-Network host", "-Sysctl net.ipv4.ip_forward"], UserNamespaceRules.HostOnlyOptions(o));
    }

    [Theory]
    [InlineData(0, 65536, "UserNamespaceMapsHostRoot")]
    [InlineData(0, 1, "UserNamespaceMapsHostRoot")]
    [InlineData(16777216, 65536, "UserNamespaceOverlapsAuto")]
    [InlineData(16777215, 2, "UserNamespaceOverlapsAuto")] // last id before the range plus its first
    [InlineData(16777216L + 65536 * 1024 - 1, 1, "UserNamespaceOverlapsAuto")]
    public void RefusesHostRootAndTheAutoRange(long outside, long count, string errorId)
    {
        var e = Assert.Throws<EngineException>(() => UserNamespaceRules.CheckFixedMap("m", new IdMapping(0, outside, count), Auto, []));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        // The gid side is checked as well.
        if (outside != 0) Assert.Equal(errorId, Assert.Throws<EngineException>(() => UserNamespaceRules.CheckFixedMap("m", new IdMapping(0, outside, count), [], Auto)).ErrorId);
    }

    [Theory]
    [InlineData(100000, 65536)]
    [InlineData(16777216 - 65536, 65536)] // ends just below the Auto range
    [InlineData(16777216L + 65536 * 1024, 65536)] // starts just past it
    public void AcceptsMapsOutsideThem(long outside, long count) =>
        UserNamespaceRules.CheckFixedMap("m", new IdMapping(0, outside, count), Auto, Auto);
}
