using System.Text;
using System.Text.Json.Nodes;
using PSContainer.Engine;
using PSContainer.Engine.Archives;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Images;
using PSContainer.Engine.Storage;
using PSContainer.Native;
using Xunit;

namespace PSContainer.Tests;

/// <summary>docker commit's pieces: overlayfs upper directories as OCI layers, and --change instructions.</summary>
public sealed class ContainerFilesTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static List<TarHeader> Read(byte[] tar)
    {
        var reader = new TarReader(new MemoryStream(tar), requireEndOfArchive: true);
        var list = new List<TarHeader>();
        while (reader.Next() is { } h) list.Add(h);
        return list;
    }

    [SkippableFact]
    public void UpperDirectoryWhiteoutsAndOpaqueDirectoriesBecomeOciOnes()
    {
        string upper = dir.CreateDirectory("upper");
        Directory.CreateDirectory(Path.Combine(upper, "etc", "conf.d"));
        File.WriteAllText(Path.Combine(upper, "etc", "conf.d", "new"), "new\n");
        File.WriteAllText(Path.Combine(upper, "data.txt"), "state\n");
        // The runtime's mount point for /etc/hosts is no change of the container's; a hosts file with content is.
        File.WriteAllText(Path.Combine(upper, "etc", "hosts"), "");
        File.WriteAllText(Path.Combine(upper, "etc", "hostname"), "mine\n");
        using (var root = RootedDirectory.Open(upper))
        {
            using var bin = root.OpenDirectory("bin", create: true);
            try
            {
                // overlayfs's record of a deleted lower file, and of a directory replaced wholesale.
                bin.MakeNode("id", Sys.S_IFCHR, 0, 0);
                using var confd = root.OpenDirectory("etc/conf.d", create: false);
                confd.SetXattr("", "trusted.overlay.opaque", "y"u8.ToArray());
                confd.SetXattr("", "trusted.overlay.origin", [1, 2, 3]);
            }
            catch (NativeException e) when (e.Errno is Errors.EPERM or Errors.EOPNOTSUPP)
            {
                Skip.If(true, $"this file system refuses device nodes or trusted.* attributes here ({e.Message}); run as root on ext4/xfs/tmpfs");
            }
        }
        var output = new MemoryStream();
        UpperLayer.Write(upper, output, null, null, null, CancellationToken.None);
        var entries = Read(output.ToArray());
        var names = entries.Select(e => e.Name).ToList();

        Assert.Contains("bin/.wh.id", names);
        Assert.DoesNotContain("etc/hosts", names);
        Assert.Contains("etc/hostname", names);
        Assert.DoesNotContain("bin/id", names);
        var whiteout = entries.Single(e => e.Name == "bin/.wh.id");
        Assert.Equal(TarEntryKind.File, whiteout.Kind);
        Assert.Equal(0, whiteout.Size);
        // The opaque marker comes right after its directory, before the directory's own entries.
        int opaqueAt = names.IndexOf("etc/conf.d/");
        Assert.True(opaqueAt >= 0, string.Join(", ", names));
        Assert.Equal("etc/conf.d/.wh..wh..opq", names[opaqueAt + 1]);
        Assert.Contains("etc/conf.d/new", names);
        // overlay's own attributes never leave the upper directory.
        Assert.All(entries, e => Assert.DoesNotContain(e.Xattrs.Keys, k => k.StartsWith("trusted.overlay.", StringComparison.Ordinal)));

        // And back: LayerApplier turns them into overlay form again.
        string layer = dir.CreateDirectory("layer");
        LayerApplier.Apply(new MemoryStream(output.ToArray()), layer, requireEndOfArchive: true);
        var st = Posix.Stat(Path.Combine(layer, "bin", "id"));
        Assert.True(st.IsCharDevice);
        Assert.Equal("state\n", File.ReadAllText(Path.Combine(layer, "data.txt")));
    }

    [Fact]
    public void CopiedFilesNamedLikeWhiteoutsStayFilesWhenWhiteoutsAreOff()
    {
        string src = dir.CreateDirectory("src");
        File.WriteAllText(Path.Combine(src, ".wh.keep"), "x");
        var output = new MemoryStream();
        var archiver = new Engine.Files.TreeArchiver(output, new Engine.Files.ArchiveOptions());
        using (var root = RootedDirectory.Open(src))
        using (var top = root.OpenDirectory("", create: false))
            archiver.AddChildren(top, "");
        archiver.Finish();
        string into = dir.CreateDirectory("into");
        using (var root = RootedDirectory.Open(into))
            LayerApplier.Apply(new MemoryStream(output.ToArray()), root, new ExtractOptions { Whiteouts = false, Prefix = "p" });
        Assert.Equal("x", File.ReadAllText(Path.Combine(into, "p", ".wh.keep")));
    }

    [Fact]
    public void WhiteoutNamesKeepTheirDirectory()
    {
        Assert.Equal(".wh.id", Engine.Files.TreeArchiver.WhiteoutName("id"));
        Assert.Equal("usr/bin/.wh.id", Engine.Files.TreeArchiver.WhiteoutName("usr/bin/id"));
    }

    private static JsonObject Apply(params string[] changes)
    {
        var config = new JsonObject { ["Env"] = new JsonArray("PATH=/bin", "A=old"), ["Cmd"] = new JsonArray("sh"), ["WorkingDir"] = "/srv" };
        CommitChanges.Apply(config, changes);
        return config;
    }

    [Fact]
    public void CmdAndEntrypointTakeExecAndShellForms()
    {
        Assert.Equal("[\"cat\",\"/x\"]", Apply("CMD [\"cat\",\"/x\"]")["Cmd"]!.ToJsonString());
        Assert.Equal("[\"/bin/sh\",\"-c\",\"echo hi \\u003E /x\"]", Apply("cmd echo hi > /x")["Cmd"]!.ToJsonString());
        var withEntrypoint = Apply("ENTRYPOINT [\"/init\"]");
        Assert.Equal("[\"/init\"]", withEntrypoint["Entrypoint"]!.ToJsonString());
        Assert.Null(withEntrypoint["Cmd"]);   // a new entrypoint resets the image's CMD
        Assert.Equal("[\"x\"]", Apply("ENTRYPOINT [\"/init\"]", "CMD [\"x\"]")["Cmd"]!.ToJsonString());
    }

    [Fact]
    public void EnvAndLabelTakePairsQuotesAndTheLegacyForm()
    {
        var config = Apply("ENV A=1 B=\"two words\" C=a\\ b", "ENV D some value", "LABEL k=v \"q k\"=\"v 2\"");
        var env = config["Env"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.Equal(["PATH=/bin", "A=1", "B=two words", "C=a b", "D=some value"], env);
        Assert.Equal("v", config["Labels"]!["k"]!.GetValue<string>());
        Assert.Equal("v 2", config["Labels"]!["q k"]!.GetValue<string>());
    }

    [Fact]
    public void ExposeVolumeUserWorkdirAndStopsignal()
    {
        var config = Apply("EXPOSE 80 53/udp", "VOLUME [\"/data\", \"/logs\"]", "VOLUME /cache", "USER 1000:1000", "WORKDIR app", "STOPSIGNAL SIGINT");
        Assert.Equal(["80/tcp", "53/udp"], config["ExposedPorts"]!.AsObject().Select(p => p.Key).ToArray());
        Assert.Equal(["/data", "/logs", "/cache"], config["Volumes"]!.AsObject().Select(p => p.Key).ToArray());
        Assert.Equal("1000:1000", config["User"]!.GetValue<string>());
        Assert.Equal("/srv/app", config["WorkingDir"]!.GetValue<string>());
        Assert.Equal("SIGINT", config["StopSignal"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("RUN echo hi")]
    [InlineData("FROM busybox")]
    [InlineData("CMD")]
    [InlineData("CMD [\"unclosed\"")]
    [InlineData("EXPOSE 99999")]
    [InlineData("EXPOSE 80/icmp")]
    [InlineData("VOLUME relative")]
    [InlineData("ENV A=\"unclosed")]
    [InlineData("ENV =x")]
    [InlineData("USER a b")]
    [InlineData("STOPSIGNAL SIG-BAD")]
    public void RefusesWhatDockerCommitRefuses(string change)
    {
        var e = Assert.Throws<EngineException>(() => Apply(change));
        Assert.Equal("InvalidChange", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Theory]
    [InlineData("web:/etc/nginx", "web", "/etc/nginx")]
    [InlineData("3f2a:relative", "3f2a", "relative")]
    [InlineData("web:", "web", "/")]
    [InlineData("./a:b", null, null)]
    [InlineData("/tmp/a:b", null, null)]
    [InlineData("dir/a:b", null, null)]
    [InlineData("plain", null, null)]
    public void ContainerPathsAreReadAsDockerCpReadsThem(string text, string? container, string? path)
    {
        var split = Commands.CopyContainerItemCommand.SplitContainerPath(text);
        Assert.Equal(container, split?.Container);
        Assert.Equal(path, split?.Path);
    }

    [Theory]
    [InlineData("/../../etc/passwd", "etc/passwd")]
    [InlineData("a/./b//c/..", "a/b")]
    [InlineData("..", "")]
    [InlineData("/", "")]
    public void ContainerPathsNeverClimbAboveTheRoot(string path, string clean) =>
        Assert.Equal(clean, ContainerManager.CleanContainerPath(path));
}
