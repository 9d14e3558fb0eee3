using PSContainer.Engine.Containers;
using PSContainer.Engine.Storage;
using Xunit;

namespace PSContainer.Tests;

/// <summary>Temporaries of a killed session are removed by the next one; a live session's never are.</summary>
public sealed class TempOwnerTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static string PidNs => new string(new FileInfo("/proc/self/ns/pid").LinkTarget!.Where(char.IsAsciiDigit).ToArray());

    [Fact]
    public void NamesCarryThisProcessAndItsStartTime()
    {
        string name = TempOwner.NewName("blob");
        Assert.StartsWith($"blob-{Environment.ProcessId}.{ProcessInfo.StartTime(Environment.ProcessId)}.{PidNs}-", name);
        Assert.False(TempOwner.IsOrphan(name));
        Assert.EndsWith(".tar", TempOwner.NewName("archive", ".tar"));
    }

    [Fact]
    public void RemovesOnlyTheEntriesOfProcessesThatAreGone()
    {
        long myStart = ProcessInfo.StartTime(Environment.ProcessId);
        string mine = Path.Combine(dir.Path, TempOwner.NewName("layer"));
        Directory.CreateDirectory(Path.Combine(mine, "diff"));
        // The same pid with another start time is a process that reused the pid: the entry's owner is gone.
        string reused = Path.Combine(dir.Path, $"blob-{Environment.ProcessId}.{myStart + 1}.{PidNs}-{Guid.NewGuid():N}");
        string dead = Path.Combine(dir.Path, $"layer-999999999.12345.{PidNs}-{Guid.NewGuid():N}");
        // A kind with a hyphen (a build's copy of a bound context path) names its owner just the same.
        string deadBuild = Path.Combine(dir.Path, $"build-bind-999999999.12345.{PidNs}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(deadBuild);
        string liveBuild = Path.Combine(dir.Path, TempOwner.NewName("build-bind"));
        Directory.CreateDirectory(liveBuild);
        // A pid of another pid namespace cannot be judged from here: left alone.
        string foreign = Path.Combine(dir.Path, $"blob-999999999.12345.1-{Guid.NewGuid():N}");
        File.WriteAllText(foreign, "x");
        Directory.CreateDirectory(Path.Combine(dead, "diff", "sub"));
        File.WriteAllText(reused, "x");
        // Names it cannot read are left for garbage collection, which holds the store exclusively.
        string legacy = Path.Combine(dir.Path, $"blob-{Guid.NewGuid():N}");
        File.WriteAllText(legacy, "x");

        var removed = TempOwner.RemoveOrphans(dir.Path);

        Assert.Equal(new[] { Path.GetFileName(dead), Path.GetFileName(reused), Path.GetFileName(deadBuild) }.Order(), removed.Order());
        Assert.True(Directory.Exists(liveBuild));
        Assert.True(Directory.Exists(mine));
        Assert.True(File.Exists(legacy));
        Assert.True(File.Exists(foreign));
        Assert.False(Directory.Exists(dead));
        Assert.False(File.Exists(reused));
    }

    [Fact]
    public void AMissingDirectoryHasNothingToRemove()
    {
        Assert.Empty(TempOwner.RemoveOrphans(dir.Combine("nothing")));
    }
}
