using System.Text.Json;
using System.Text.Json.Nodes;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using Xunit;

namespace PSContainer.Tests;

/// <summary>RuntimeSpecBuilder: docker's rules for command, environment, limits, mounts and users, and the OCI config.json.</summary>
public sealed class ContainerSpecTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    // ---- ResolveCommand ---------------------------------------------------------------------------------------

    [Fact]
    public void CommandDefaultsToTheImage()
    {
        Assert.Equal(["sh"], RuntimeSpecBuilder.ResolveCommand([], ["sh"], null, null));
        Assert.Equal(["/entry.sh", "serve"], RuntimeSpecBuilder.ResolveCommand(["/entry.sh"], ["serve"], null, null));
    }

    [Fact]
    public void CommandReplacesTheImageCmdAndKeepsItsEntrypoint()
    {
        Assert.Equal(["echo", "hi"], RuntimeSpecBuilder.ResolveCommand([], ["sh"], null, ["echo", "hi"]));
        Assert.Equal(["/entry.sh", "migrate", "--all"], RuntimeSpecBuilder.ResolveCommand(["/entry.sh"], ["serve"], null, ["migrate", "--all"]));
    }

    [Fact]
    public void EntrypointReplacesTheImageEntrypointAndDropsItsCmd()
    {
        Assert.Equal(["/bin/sh"], RuntimeSpecBuilder.ResolveCommand(["/entry.sh"], ["serve"], ["/bin/sh"], null));
        Assert.Equal(["/bin/sh", "-c", "ls"], RuntimeSpecBuilder.ResolveCommand(["/entry.sh"], ["serve"], ["/bin/sh", "-c"], ["ls"]));
    }

    [Fact]
    public void AnEmptyEntrypointResetsIt()
    {
        // docker run --entrypoint "" IMAGE: no entrypoint and no image Cmd either.
        Assert.Empty(RuntimeSpecBuilder.ResolveCommand(["/entry.sh"], ["serve"], [], null));
        Assert.Equal(["ls", "-l"], RuntimeSpecBuilder.ResolveCommand(["/entry.sh"], ["serve"], [], ["ls", "-l"]));
    }

    // ---- ResolveEnvironment -----------------------------------------------------------------------------------

    private static Dictionary<string, string> Env(string[] env) =>
        env.Select(e => e.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    [Fact]
    public void EnvironmentDefaults()
    {
        var env = RuntimeSpecBuilder.ResolveEnvironment([], new Dictionary<string, string>(), "c0ffee", "/root");
        Assert.Equal([$"PATH={RuntimeSpecBuilder.DefaultPath}", "HOSTNAME=c0ffee", "HOME=/root"], env);
        Assert.Equal("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", RuntimeSpecBuilder.DefaultPath);
        Assert.Contains("HOME=/", RuntimeSpecBuilder.ResolveEnvironment([], new Dictionary<string, string>(), "h"));
    }

    [Fact]
    public void EnvironmentImageThenOverrides()
    {
        var env = RuntimeSpecBuilder.ResolveEnvironment(
            ["PATH=/opt/app/bin:/usr/bin", "LANG=C.UTF-8", "MODE=image", "EMPTY=", "EQUALS=a=b", "garbage"],
            new Dictionary<string, string> { ["MODE"] = "user", ["EXTRA"] = "1", ["HOME"] = "/data" },
            "web1", "/root");
        var map = Env(env);
        Assert.Equal("/opt/app/bin:/usr/bin", map["PATH"]);
        Assert.Equal("C.UTF-8", map["LANG"]);
        Assert.Equal("user", map["MODE"]);
        Assert.Equal("", map["EMPTY"]);
        Assert.Equal("a=b", map["EQUALS"]);
        Assert.Equal("1", map["EXTRA"]);
        Assert.Equal("web1", map["HOSTNAME"]);
        Assert.Equal("/data", map["HOME"]);
        Assert.False(map.ContainsKey("garbage"));
        // Each variable once.
        Assert.Equal(env.Length, map.Count);
    }

    [Fact]
    public void EnvironmentHomeFromTheImageWins()
    {
        var map = Env(RuntimeSpecBuilder.ResolveEnvironment(["HOME=/home/app"], new Dictionary<string, string>(), "h", "/root"));
        Assert.Equal("/home/app", map["HOME"]);
    }

    // ---- EffectiveLimits --------------------------------------------------------------------------------------

    [Fact]
    public void SwapIsTwiceTheMemoryWhenUnset()
    {
        var limits = RuntimeSpecBuilder.EffectiveLimits(new ContainerOptions { Memory = 64 << 20 });
        Assert.Equal(64L << 20, limits.Memory);
        Assert.Equal(128L << 20, limits.MemorySwap);
    }

    [Fact]
    public void SwapMinusOneIsUnlimited()
    {
        var limits = RuntimeSpecBuilder.EffectiveLimits(new ContainerOptions { Memory = 64 << 20, MemorySwap = -1 });
        Assert.Equal(64L << 20, limits.Memory);
        Assert.Null(limits.MemorySwap);
    }

    [Fact]
    public void SwapAsGiven()
    {
        var limits = RuntimeSpecBuilder.EffectiveLimits(new ContainerOptions { Memory = 64 << 20, MemorySwap = 64 << 20 });
        Assert.Equal(64L << 20, limits.MemorySwap);
    }

    [Fact]
    public void NoLimitsByDefault()
    {
        Assert.Equal(new ContainerLimits(null, null, null, null, null), RuntimeSpecBuilder.EffectiveLimits(new ContainerOptions()));
        Assert.Equal(new ContainerLimits(null, null, 1.5, 512, 100),
            RuntimeSpecBuilder.EffectiveLimits(new ContainerOptions { Cpus = 1.5, CpuShares = 512, PidsLimit = 100 }));
    }

    // ---- ParseVolumes / ParseTmpfs ----------------------------------------------------------------------------

    [Fact]
    public void ValidVolumes()
    {
        var mounts = RuntimeSpecBuilder.ParseVolumes(["/srv/data:/data", "/etc/app:/etc/app:ro", "/tmp/x:/x:rw"]);
        Assert.Equal(
            [
                new ContainerMount("bind", "/srv/data", "/data", false),
                new ContainerMount("bind", "/etc/app", "/etc/app", true),
                new ContainerMount("bind", "/tmp/x", "/x", false),
            ],
            mounts);
        Assert.Equal("/etc/app:/etc/app:ro", mounts[1].ToString());
    }

    [Fact]
    public void VolumeSourcesAreCleanedAsText()
    {
        // As docker's filepath.Clean: the directory made for a missing source and the path mounted are the same.
        var mounts = RuntimeSpecBuilder.ParseVolumes(["/srv/link/../data//x/./:/data", "/srv/data/:/d2:ro"]);
        Assert.Equal("/srv/data/x", mounts[0].Source);
        Assert.Equal("/srv/data", mounts[1].Source);
    }

    [Theory]
    [InlineData("/a:/b:ro:extra")]           // too many parts
    [InlineData(":/data")]                   // empty source
    [InlineData("/a:data")]                  // relative destination
    [InlineData("a:/data")]                  // one character: no volume name (docker needs two)
    [InlineData("da ta:/data")]              // not a name either
    [InlineData("/a:/b:rx")]                 // unknown option
    [InlineData("/a:/b:ro,z")]
    [InlineData("/a:/")]                     // replaces the root
    public void InvalidVolumes(string volume)
    {
        var e = Assert.Throws<EngineException>(() => RuntimeSpecBuilder.ParseVolumes(["/ok:/ok", volume]));
        Assert.Equal("InvalidVolume", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Equal(volume, e.Target);
    }

    [Fact]
    public void ValidTmpfs()
    {
        var mounts = RuntimeSpecBuilder.ParseTmpfs(["/run", "/cache:size=64m,mode=1777", "/ro:ro"]);
        Assert.Equal(3, mounts.Count);
        Assert.Equal(new ContainerMount("tmpfs", "tmpfs", "/run", false, "noexec,nosuid,nodev"), mounts[0]);
        Assert.Equal(new ContainerMount("tmpfs", "tmpfs", "/cache", false, "noexec,nosuid,nodev,size=64m,mode=1777"), mounts[1]);
        Assert.True(mounts[2].ReadOnly);
        Assert.Equal("tmpfs:/cache", mounts[1].ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("run")]
    [InlineData("/")]
    [InlineData(":size=1m")]
    [InlineData("/:size=1m")]
    public void InvalidTmpfs(string tmpfs)
    {
        var e = Assert.Throws<EngineException>(() => RuntimeSpecBuilder.ParseTmpfs(["/ok", tmpfs]));
        Assert.Equal("InvalidTmpfs", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Equal(tmpfs, e.Target);
    }

    // ---- ResolveUser ------------------------------------------------------------------------------------------

    private string Rootfs(string? passwd = null, string? group = null)
    {
        string rootfs = dir.CreateDirectory("rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "etc"));
        File.WriteAllText(Path.Combine(rootfs, "etc/passwd"), passwd ?? """
            root:x:0:0:root:/root:/bin/sh
            # a comment
            daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
            app:x:1000:1001:App User:/home/app:/bin/sh
            nohome:x:1002:1002:::/bin/sh
            nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

            """);
        File.WriteAllText(Path.Combine(rootfs, "etc/group"), group ?? """
            root:x:0:
            wheel:x:10:root,app
            audio:x:29:other,app
            app:x:1001:
            staff:x:50:
            video:x:44:other
            nogroup:x:65534:

            """);
        return rootfs;
    }

    [Fact]
    public void UserByName()
    {
        var u = RuntimeSpecBuilder.ResolveUser("app", Rootfs());
        Assert.Equal((1000u, 1001u, "/home/app"), (u.Uid, u.Gid, u.Home));
        // The primary group first, as docker lists it, then the memberships /etc/group gives.
        Assert.Equal([1001u, 10u, 29u], u.AdditionalGids);
    }

    [Fact]
    public void UserByUidUsesItsEntry()
    {
        var u = RuntimeSpecBuilder.ResolveUser("1000", Rootfs());
        Assert.Equal((1000u, 1001u, "/home/app"), (u.Uid, u.Gid, u.Home));
        Assert.Equal([1001u, 10u, 29u], u.AdditionalGids);
    }

    [Fact]
    public void DefaultUserIsRoot()
    {
        string rootfs = Rootfs();
        foreach (string? spec in new[] { null, "", "0", "root" })
        {
            var u = RuntimeSpecBuilder.ResolveUser(spec, rootfs);
            Assert.Equal((0u, 0u, "/root"), (u.Uid, u.Gid, u.Home));
            Assert.Equal([0u, 10u], u.AdditionalGids);
        }
    }

    [Fact]
    public void UidColonGid()
    {
        // An explicit group is that group alone, as in docker (runc's GetExecUser): no memberships from /etc/group.
        var u = RuntimeSpecBuilder.ResolveUser("1000:50", Rootfs());
        Assert.Equal((1000u, 50u), (u.Uid, u.Gid));
        Assert.Equal([50u], u.AdditionalGids);
    }

    [Fact]
    public void NameColonGroup()
    {
        var u = RuntimeSpecBuilder.ResolveUser("app:staff", Rootfs());
        Assert.Equal((1000u, 50u, "/home/app"), (u.Uid, u.Gid, u.Home));
        Assert.Equal([50u], u.AdditionalGids);
        var w = RuntimeSpecBuilder.ResolveUser("app:wheel", Rootfs());
        Assert.Equal(10u, w.Gid);
        Assert.Equal([10u], w.AdditionalGids);
    }

    [Fact]
    public void GroupAddAddsNamesAndNumbers()
    {
        string rootfs = Rootfs();
        var u = RuntimeSpecBuilder.ResolveUser("app", rootfs, ["staff", "4242", "wheel"]);
        Assert.Equal([10u, 29u, 50u, 1001u, 4242u], u.AdditionalGids.Order());
        // With an explicit group, and for a numeric user without an entry, the primary group and the added ones.
        Assert.Equal([50u, 44u], RuntimeSpecBuilder.ResolveUser("app:staff", rootfs, ["video"]).AdditionalGids);
        Assert.Equal([0u, 44u, 7u], RuntimeSpecBuilder.ResolveUser("4242", rootfs, ["video", "7"]).AdditionalGids);
        var e = Assert.Throws<EngineException>(() => RuntimeSpecBuilder.ResolveUser("app", rootfs, ["ghosts"]));
        Assert.Equal(("GroupNotFound", ErrorKind.ObjectNotFound, (object?)"ghosts"), (e.ErrorId, e.Kind, e.Target));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a:b")]
    [InlineData("a,b")]
    [InlineData("a b")]
    [InlineData("4294967296")]
    [InlineData("2147483648")]
    public void GroupAddRefusesWhatIsNoGroup(string group)
    {
        var e = Assert.Throws<EngineException>(() => ContainerOptions.ValidateGroupAdd([group]));
        Assert.Equal(("InvalidGroup", ErrorKind.InvalidArgument), (e.ErrorId, e.Kind));
    }

    [Fact]
    public async Task AFifoPasswdIsAnErrorNotAHang()
    {
        string rootfs = Rootfs();
        File.Delete(Path.Combine(rootfs, "etc/passwd"));
        using (var p = System.Diagnostics.Process.Start("mkfifo", [Path.Combine(rootfs, "etc/passwd")])) await p.WaitForExitAsync();
        var resolve = Task.Run(() => Assert.Throws<EngineException>(() => RuntimeSpecBuilder.ResolveUser("0", rootfs)));
        var e = await resolve.WaitAsync(TimeSpan.FromSeconds(10)); // a TimeoutException if it blocks on the FIFO
        Assert.Equal(("InvalidUserDatabase", ErrorKind.InvalidData, (object?)"/etc/passwd"), (e.ErrorId, e.Kind, e.Target));
        Assert.Contains("not a regular file", e.Message);
    }

    [Fact]
    public void AnOversizeGroupFileIsAnError()
    {
        string rootfs = Rootfs();
        using (var f = File.OpenWrite(Path.Combine(rootfs, "etc/group"))) f.SetLength(RuntimeSpecBuilder.MaxUserDatabaseBytes + 1L);
        var e = Assert.Throws<EngineException>(() => RuntimeSpecBuilder.ResolveUser("app", rootfs));
        Assert.Equal(("InvalidUserDatabase", (object?)"/etc/group"), (e.ErrorId, e.Target));
        Assert.Contains("larger than 4 MiB", e.Message);
    }

    [Fact]
    public void AnEtcSymlinkToAHostPathIsResolvedInsideTheRoot()
    {
        // /etc -> <host dir with a passwd>: the engine must read <rootfs>/<host dir>/passwd (absent), never the host's.
        string hostEtc = dir.CreateDirectory("host-etc");
        File.WriteAllText(Path.Combine(hostEtc, "passwd"), "hostonly:x:4321:4321::/:/bin/sh\n");
        string rootfs = dir.CreateDirectory("symlinked-etc-rootfs");
        Directory.CreateSymbolicLink(Path.Combine(rootfs, "etc"), hostEtc);
        Assert.Equal("UserNotFound", Assert.Throws<EngineException>(() => RuntimeSpecBuilder.ResolveUser("hostonly", rootfs)).ErrorId);
        // The same path made inside the root is what is read.
        Directory.CreateDirectory(rootfs + hostEtc);
        File.WriteAllText(Path.Combine(rootfs + hostEtc, "passwd"), "inside:x:77:77::/in:/bin/sh\n");
        var u = RuntimeSpecBuilder.ResolveUser("inside", rootfs);
        Assert.Equal((77u, 77u, "/in"), (u.Uid, u.Gid, u.Home));
    }

    [Fact]
    public void UnknownNamesAreErrors()
    {
        string rootfs = Rootfs();
        var e = Assert.Throws<EngineException>(() => RuntimeSpecBuilder.ResolveUser("ghost", rootfs));
        Assert.Equal("UserNotFound", e.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, e.Kind);
        var g = Assert.Throws<EngineException>(() => RuntimeSpecBuilder.ResolveUser("app:ghosts", rootfs));
        Assert.Equal("GroupNotFound", g.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, g.Kind);
    }

    [Fact]
    public void NumericUserWithoutAnEntryRunsWithGroupZero()
    {
        string rootfs = Rootfs();
        var u = RuntimeSpecBuilder.ResolveUser("4242", rootfs);
        Assert.Equal((4242u, 0u, "/"), (u.Uid, u.Gid, u.Home));
        Assert.Equal([0u], u.AdditionalGids);
        var ug = RuntimeSpecBuilder.ResolveUser("4242:4343", rootfs);
        Assert.Equal((4242u, 4343u), (ug.Uid, ug.Gid));
    }

    [Fact]
    public void EmptyHomeIsRoot()
    {
        var u = RuntimeSpecBuilder.ResolveUser("nohome", Rootfs());
        Assert.Equal((1002u, 1002u, "/"), (u.Uid, u.Gid, u.Home));
    }

    [Fact]
    public void WithoutPasswdOnlyNumbersWork()
    {
        string rootfs = dir.CreateDirectory("empty-rootfs");
        var u = RuntimeSpecBuilder.ResolveUser("1000:1000", rootfs);
        Assert.Equal((1000u, 1000u), (u.Uid, u.Gid));
        Assert.Equal("UserNotFound", Assert.Throws<EngineException>(() => RuntimeSpecBuilder.ResolveUser("app", rootfs)).ErrorId);
    }

    [Fact]
    public void APasswdThatIsASymlinkIsNotFollowed()
    {
        string rootfs = dir.CreateDirectory("evil-rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "etc"));
        string outside = dir.Combine("host-passwd");
        File.WriteAllText(outside, "evil:x:5:5:evil:/evil:/bin/sh\n");
        string outsideGroup = dir.Combine("host-group");
        File.WriteAllText(outsideGroup, "evil:x:5:evil\nextra:x:77:evil\n");
        File.CreateSymbolicLink(Path.Combine(rootfs, "etc/passwd"), outside);
        File.CreateSymbolicLink(Path.Combine(rootfs, "etc/group"), outsideGroup);

        var e = Assert.Throws<EngineException>(() => RuntimeSpecBuilder.ResolveUser("evil", rootfs));
        Assert.Equal("UserNotFound", e.ErrorId);
        var u = RuntimeSpecBuilder.ResolveUser("5", rootfs);
        Assert.Equal((5u, 0u, "/"), (u.Uid, u.Gid, u.Home));
        Assert.Equal([0u], u.AdditionalGids);
    }

    // ---- Build ------------------------------------------------------------------------------------------------

    private static readonly SpecContext Context = new("/var/lib/pscontainer/containers/abc/rootfs", "/run/pscontainer/netns/abc",
        "/run/pscontainer/containers/abc/hostname", "/run/pscontainer/containers/abc/hosts", "/run/pscontainer/containers/abc/resolv.conf",
        "pscontainer/abc");

    private static ContainerRecord Record(ContainerOptions options) => new()
    {
        Id = "abc",
        Name = "web1",
        Image = "busybox",
        ImageId = "sha256:0123",
        Command = ["httpd", "-f", "-p", "80"],
        Options = options,
    };

    private static JsonObject Build(ContainerOptions options, SpecContext? context = null, ResolvedUser? user = null)
    {
        var spec = RuntimeSpecBuilder.Build(Record(options), ["PATH=/bin", "HOSTNAME=web1"], user ?? new ResolvedUser(1000, 1001, [10, 29], "/home/app"),
            "/www", "web1", context ?? Context);
        // What a runtime reads is the serialized form: it must round-trip.
        return JsonNode.Parse(spec.ToJsonString())!.AsObject();
    }

    private static string[] Strings(JsonNode? array) => array!.AsArray().Select(n => n!.GetValue<string>()).ToArray();

    private static JsonObject MountAt(JsonObject spec, string destination) =>
        spec["mounts"]!.AsArray().Select(m => m!.AsObject()).Single(m => (string)m["destination"]! == destination);

    [Fact]
    public void BuildProcess()
    {
        var spec = Build(new ContainerOptions());
        Assert.Equal("1.1.0", (string)spec["ociVersion"]!);
        var process = spec["process"]!.AsObject();
        Assert.Equal(["httpd", "-f", "-p", "80"], Strings(process["args"]));
        Assert.Equal(["PATH=/bin", "HOSTNAME=web1"], Strings(process["env"]));
        Assert.Equal("/www", (string)process["cwd"]!);
        Assert.False((bool)process["terminal"]!);
        Assert.Equal(1000u, (uint)process["user"]!["uid"]!);
        Assert.Equal(1001u, (uint)process["user"]!["gid"]!);
        Assert.Equal([10u, 29u], process["user"]!["additionalGids"]!.AsArray().Select(n => (uint)n!));
        Assert.Equal("web1", (string)spec["hostname"]!);
        Assert.Equal("web1", (string)spec["annotations"]!["io.pscontainer.name"]!);
        Assert.Equal("busybox", (string)spec["annotations"]!["io.pscontainer.image"]!);
        var nofile = process["rlimits"]!.AsArray().Single()!;
        Assert.Equal("RLIMIT_NOFILE", (string)nofile["type"]!);
        Assert.InRange((ulong)nofile["hard"]!, 1UL, 1048576UL);
        Assert.Equal((ulong)nofile["hard"]!, (ulong)nofile["soft"]!);
    }

    [Fact]
    public void BuildHasDockersCapabilitiesAndLeavesNoNewPrivilegesOff()
    {
        string[] docker =
        [
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
            "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
        ];
        var process = Build(new ContainerOptions())["process"]!.AsObject();
        var caps = process["capabilities"]!.AsObject();
        foreach (string set in new[] { "bounding", "effective", "permitted" })
            Assert.Equal(docker.Order(StringComparer.Ordinal), Strings(caps[set]).Order(StringComparer.Ordinal));
        Assert.Equal(14, Strings(caps["bounding"]).Distinct().Count());
        Assert.DoesNotContain("CAP_SYS_ADMIN", Strings(caps["bounding"]));
        Assert.Null(caps["inheritable"]);
        Assert.Null(caps["ambient"]);
        // Docker's default: setuid binaries and file capabilities work; -SecurityOption no-new-privileges turns it on.
        Assert.False((bool)process["noNewPrivileges"]!);
    }

    [Fact]
    public void BuildMasksAndProtectsProcAndSys()
    {
        var linux = Build(new ContainerOptions())["linux"]!.AsObject();
        var masked = Strings(linux["maskedPaths"]);
        foreach (string p in new[] { "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/acpi", "/proc/scsi", "/sys/firmware" })
            Assert.Contains(p, masked);
        Assert.Equal(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"], Strings(linux["readonlyPaths"]).Order(StringComparer.Ordinal));
        Assert.Equal("rprivate", (string)linux["rootfsPropagation"]!);
    }

    [Fact]
    public void BuildDeviceRulesDenyAllFirst()
    {
        var rules = Build(new ContainerOptions())["linux"]!["resources"]!["devices"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.False((bool)rules[0]["allow"]!);
        Assert.Equal("rwm", (string)rules[0]["access"]!);
        Assert.Null(rules[0]["type"]);
        Assert.Null(rules[0]["major"]);
        Assert.All(rules.Skip(1), r => Assert.True((bool)r["allow"]!));
        var allowed = rules.Skip(1).Where(r => r["major"] is not null && r["minor"] is not null && (string)r["access"]! == "rwm")
            .Select(r => ((string)r["type"]!, (long)r["major"]!, (long)r["minor"]!)).ToHashSet();
        // null, zero, full, random, urandom, tty, console, ptmx (moby's defaults)
        foreach (var (major, minor) in new (long, long)[] { (1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2) })
            Assert.Contains(("c", major, minor), allowed);
        Assert.DoesNotContain(rules.Skip(1), r => (string?)r["type"] == "b" && ((string)r["access"]!).Contains('r'));
        // mknod of any char/block device, every /dev/pts/N
        Assert.Contains(rules, r => (bool)r["allow"]! && (string?)r["type"] == "c" && r["major"] is null && (string)r["access"]! == "m");
        Assert.Contains(rules, r => (bool)r["allow"]! && (string?)r["type"] == "c" && r["major"] is not null && (long)r["major"]! == 136 && r["minor"] is null);
    }

    [Fact]
    public void BuildNamespacesAndCgroupsPath()
    {
        var linux = Build(new ContainerOptions())["linux"]!.AsObject();
        Assert.Equal("pscontainer/abc", (string)linux["cgroupsPath"]!);
        var ns = linux["namespaces"]!.AsArray().Select(n => n!.AsObject()).ToList();
        Assert.Equal(["cgroup", "ipc", "mount", "network", "pid", "uts"], ns.Select(n => (string)n["type"]!).Order(StringComparer.Ordinal));
        Assert.Equal("/run/pscontainer/netns/abc", (string)ns.Single(n => (string)n["type"]! == "network")["path"]!);
        Assert.All(ns.Where(n => (string)n["type"]! != "network"), n => Assert.Null(n["path"]));
        Assert.DoesNotContain(ns, n => (string)n["type"]! == "user");
    }

    [Fact]
    public void BuildWithoutANetnsPathMakesANewNetworkNamespace()
    {
        var ns = Build(new ContainerOptions(), Context with { NetworkNamespacePath = null })["linux"]!["namespaces"]!.AsArray();
        var network = ns.Single(n => (string)n!["type"]! == "network")!;
        Assert.Null(network["path"]);
    }

    [Fact]
    public void BuildHostNetworkHasNoNetworkNamespace()
    {
        var ns = Build(new ContainerOptions { Network = "host" }, Context with { NetworkNamespacePath = null })["linux"]!["namespaces"]!.AsArray();
        Assert.DoesNotContain(ns, n => (string)n!["type"]! == "network");
        Assert.Contains(ns, n => (string)n!["type"]! == "pid");
    }

    [Fact]
    public void BuildWithoutLimitsHasOnlyDeviceRules()
    {
        var resources = Build(new ContainerOptions())["linux"]!["resources"]!.AsObject();
        Assert.Equal(["devices"], resources.Select(p => p.Key));
    }

    [Fact]
    public void BuildResources()
    {
        var resources = Build(new ContainerOptions { Memory = 64 << 20, Cpus = 1.5, CpuShares = 512, PidsLimit = 100 })["linux"]!["resources"]!.AsObject();
        Assert.Equal(64L << 20, (long)resources["memory"]!["limit"]!);
        Assert.Equal(128L << 20, (long)resources["memory"]!["swap"]!);
        Assert.Equal(150000, (long)resources["cpu"]!["quota"]!);
        Assert.Equal(100000, (long)resources["cpu"]!["period"]!);
        Assert.Equal(512, (long)resources["cpu"]!["shares"]!);
        Assert.Equal(100, (long)resources["pids"]!["limit"]!);
    }

    [Fact]
    public void BuildUnlimitedSwapLeavesSwapOut()
    {
        var memory = Build(new ContainerOptions { Memory = 64 << 20, MemorySwap = -1 })["linux"]!["resources"]!["memory"]!.AsObject();
        Assert.Equal(64L << 20, (long)memory["limit"]!);
        Assert.Null(memory["swap"]);
    }

    [Fact]
    public void BuildMounts()
    {
        var spec = Build(new ContainerOptions { Volumes = ["/srv/www:/www:ro", "/srv/data:/data"], Tmpfs = ["/cache:size=1m"] });
        var destinations = spec["mounts"]!.AsArray().Select(m => (string)m!["destination"]!).ToList();
        foreach (string d in new[] { "/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm", "/etc/resolv.conf", "/etc/hostname", "/etc/hosts" })
            Assert.Contains(d, destinations);
        Assert.Equal(destinations.Count, destinations.Distinct().Count());
        // The system mounts come before the user's, which may be below them.
        Assert.True(destinations.IndexOf("/proc") < destinations.IndexOf("/www"));

        var proc = MountAt(spec, "/proc");
        Assert.Equal(("proc", "proc"), ((string)proc["type"]!, (string)proc["source"]!));
        Assert.Contains("ro", Strings(MountAt(spec, "/sys")["options"]));
        Assert.Contains("ro", Strings(MountAt(spec, "/sys/fs/cgroup")["options"]));

        var hosts = MountAt(spec, "/etc/hosts");
        Assert.Equal(("bind", "/run/pscontainer/containers/abc/hosts"), ((string)hosts["type"]!, (string)hosts["source"]!));
        Assert.Equal("/run/pscontainer/containers/abc/resolv.conf", (string)MountAt(spec, "/etc/resolv.conf")["source"]!);
        Assert.Equal("/run/pscontainer/containers/abc/hostname", (string)MountAt(spec, "/etc/hostname")["source"]!);

        var www = MountAt(spec, "/www");
        Assert.Equal(("bind", "/srv/www"), ((string)www["type"]!, (string)www["source"]!));
        Assert.Contains("rbind", Strings(www["options"]));
        Assert.Contains("ro", Strings(www["options"]));
        var data = MountAt(spec, "/data");
        Assert.Equal("/srv/data", (string)data["source"]!);
        Assert.DoesNotContain("ro", Strings(data["options"]));

        var cache = MountAt(spec, "/cache");
        Assert.Equal(("tmpfs", "tmpfs"), ((string)cache["type"]!, (string)cache["source"]!));
        Assert.Equal(["noexec", "nosuid", "nodev", "size=1m"], Strings(cache["options"]));
    }

    [Fact]
    public void BuildRoot()
    {
        var root = Build(new ContainerOptions())["root"]!;
        Assert.Equal(Context.RootfsPath, (string)root["path"]!);
        Assert.False((bool)root["readonly"]!);
        Assert.True((bool)Build(new ContainerOptions { ReadOnly = true })["root"]!["readonly"]!);
    }

    [Fact]
    public void BuildIsValidJson()
    {
        var spec = RuntimeSpecBuilder.Build(Record(new ContainerOptions { Memory = 64 << 20 }), [], new ResolvedUser(0, 0, [], "/"), "/", "h", Context);
        using var doc = JsonDocument.Parse(spec.ToJsonString());
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("process").GetProperty("user").GetProperty("additionalGids").ValueKind);
    }
}
