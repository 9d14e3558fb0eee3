using System.Text.Json.Nodes;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using Xunit;

namespace PSContainer.Tests;

/// <summary>IsolationSpec: docker run's isolation options parsed, checked and written over the built spec.</summary>
public sealed class IsolationSpecTests
{
    private static readonly SpecContext Context = new("/r/rootfs", "/run/netns/abc", "/r/hostname", "/r/hosts", "/r/resolv.conf", "/psc/abc");

    private static JsonObject Spec(ContainerOptions o, Func<string, JoinTarget>? join = null)
    {
        var record = new ContainerRecord { Id = "abc", Name = "c", Image = "i", ImageId = "sha256:1", Command = ["sh"], Options = o };
        var spec = RuntimeSpecBuilder.Build(record, ["PATH=/bin"], new ResolvedUser(0, 0, [], "/"), "/", "c", Context);
        IsolationSpec.Apply(spec, o, join ?? (_ => throw new InvalidOperationException("no join expected")), "/r/shm");
        return JsonNode.Parse(spec.ToJsonString())!.AsObject();
    }

    private static string[] Namespaces(JsonObject spec) =>
        spec["linux"]!["namespaces"]!.AsArray().Select(n => (string)n!["type"]!).ToArray();

    private static JsonObject Mount(JsonObject spec, string destination) =>
        spec["mounts"]!.AsArray().Select(m => m!.AsObject()).Single(m => (string?)m["destination"] == destination);

    [Theory]
    [InlineData("nofile=1024:2048", "RLIMIT_NOFILE", 1024UL, 2048UL)]
    [InlineData("NPROC=512", "RLIMIT_NPROC", 512UL, 512UL)]
    [InlineData("core=-1", "RLIMIT_CORE", ulong.MaxValue, ulong.MaxValue)]
    [InlineData("memlock=64:-1", "RLIMIT_MEMLOCK", 64UL, ulong.MaxValue)]
    public void Ulimits_parse_as_docker(string spec, string type, ulong soft, ulong hard) =>
        Assert.Equal((type, soft, hard), IsolationSpec.ParseUlimit(spec));

    [Theory]
    [InlineData("files=1")]
    [InlineData("nofile")]
    [InlineData("nofile=a")]
    [InlineData("nofile=1:2:3")]
    [InlineData("nofile=-2")]
    [InlineData("nofile=10:5")]
    public void Bad_ulimits_are_refused(string spec) =>
        Assert.Equal("InvalidUlimit", Assert.Throws<EngineException>(() => IsolationSpec.ParseUlimit(spec)).ErrorId);

    [Theory]
    [InlineData("net_admin", "CAP_NET_ADMIN")]
    [InlineData("CAP_SYS_PTRACE", "CAP_SYS_PTRACE")]
    [InlineData(" chown ", "CAP_CHOWN")]
    [InlineData("all", "ALL")]
    public void Capability_names_are_normalized(string given, string expected) =>
        Assert.Equal(expected, IsolationSpec.NormalizeCapability(given));

    [Fact]
    public void CapDrop_ALL_then_CapAdd_gives_exactly_what_is_added()
    {
        var caps = IsolationSpec.EffectiveCapabilities(new ContainerOptions { CapDrop = ["ALL"], CapAdd = ["chown", "KILL"] });
        Assert.Equal(["CAP_CHOWN", "CAP_KILL"], caps.Order(StringComparer.Ordinal));
        var spec = Spec(new ContainerOptions { CapDrop = ["ALL"], CapAdd = ["chown", "KILL"] });
        foreach (string set in new[] { "bounding", "effective", "permitted" })
            Assert.Equal(caps, spec["process"]!["capabilities"]![set]!.AsArray().Select(c => (string)c!));
    }

    [Fact]
    public void Devices_parse_with_and_without_a_container_path_and_access()
    {
        var (node, inside, access) = IsolationSpec.ParseDevice("/dev/null");
        Assert.Equal(('c', 1L, 3L, "/dev/null", "rwm"), (node.Type, node.Major, node.Minor, inside, access));
        Assert.Equal(("/dev/null", "r"), (IsolationSpec.ParseDevice("/dev/null:r").ContainerPath, IsolationSpec.ParseDevice("/dev/null:r").Access));
        Assert.Equal(("/dev/x", "rw"), (IsolationSpec.ParseDevice("/dev/null:/dev/x:rw").ContainerPath, IsolationSpec.ParseDevice("/dev/null:/dev/x:rw").Access));
        foreach (string bad in new[] { "/dev/null:/dev/x:rwx", "dev/null", "/etc/hostname", "/dev/null:a:b:c", "/dev/null:rr" })
            Assert.Equal("InvalidDevice", Assert.Throws<EngineException>(() => IsolationSpec.ParseDevice(bad)).ErrorId);
    }

    [Fact]
    public void A_device_is_in_the_spec_and_allowed_in_the_device_cgroup_with_its_access()
    {
        var spec = Spec(new ContainerOptions { Devices = ["/dev/null:/dev/mine:r"] });
        var device = spec["linux"]!["devices"]!.AsArray().Single()!;
        Assert.Equal(("/dev/mine", "c", 1L, 3L), ((string)device["path"]!, (string)device["type"]!, (long)device["major"]!, (long)device["minor"]!));
        var rule = spec["linux"]!["resources"]!["devices"]!.AsArray().Last()!;
        Assert.Equal((true, "c", 1L, 3L, "r"), ((bool)rule["allow"]!, (string)rule["type"]!, (long)rule["major"]!, (long)rule["minor"]!, (string)rule["access"]!));
    }

    [Fact]
    public void Host_modes_drop_the_namespace_and_uts_host_drops_the_hostname()
    {
        var spec = Spec(new ContainerOptions { PidMode = "host", IpcMode = "host", UtsMode = "host" });
        Assert.DoesNotContain("pid", Namespaces(spec));
        Assert.DoesNotContain("ipc", Namespaces(spec));
        Assert.DoesNotContain("uts", Namespaces(spec));
        Assert.Null(spec["hostname"]);
        Assert.Contains("mount", Namespaces(spec));
        Assert.Equal(("bind", "/dev/shm"), ((string)Mount(spec, "/dev/shm")["type"]!, (string)Mount(spec, "/dev/shm")["source"]!));
    }

    [Fact]
    public void Joining_a_shareable_container_takes_its_namespace_paths_and_its_shm()
    {
        var donor = new JoinTarget("db", new ContainerOptions { IpcMode = "shareable" }, "/d/shm", type => $"/pins/db-{type}");
        var spec = Spec(new ContainerOptions { PidMode = "container:db", IpcMode = "container:db" }, _ => donor);
        var ns = spec["linux"]!["namespaces"]!.AsArray().ToDictionary(n => (string)n!["type"]!, n => (string?)n!["path"]);
        Assert.Equal("/pins/db-pid", ns["pid"]);
        Assert.Equal("/pins/db-ipc", ns["ipc"]);
        Assert.Equal(("bind", "/d/shm"), ((string)Mount(spec, "/dev/shm")["type"]!, (string)Mount(spec, "/dev/shm")["source"]!));

        var notShareable = donor with { Options = new ContainerOptions() };
        Assert.Equal("IpcNotShareable", Assert.Throws<EngineException>(() => Spec(new ContainerOptions { IpcMode = "container:db" }, _ => notShareable)).ErrorId);
    }

    [Fact]
    public void Under_a_user_namespace_a_renamed_device_is_bound_from_its_host_path()
    {
        var record = new ContainerRecord { Id = "abc", Name = "c", Image = "i", ImageId = "sha256:1", Command = ["sh"], Options = new ContainerOptions { Devices = ["/dev/null:/dev/mine:r"] } };
        var spec = RuntimeSpecBuilder.Build(record, ["PATH=/bin"], new ResolvedUser(0, 0, [], "/"), "/", "c", Context);
        IsolationSpec.Apply(spec, record.Options, _ => throw new InvalidOperationException(), "/r/shm", userNamespace: true);
        Assert.Equal(("bind", "/dev/null"), ((string)Mount(spec, "/dev/mine")["type"]!, (string)Mount(spec, "/dev/mine")["source"]!));
        Assert.Null(spec["linux"]!["devices"]);
        Assert.Equal("r", (string)spec["linux"]!["resources"]!["devices"]!.AsArray().Last()!["access"]!);
    }

    [Fact]
    public void A_shareable_container_binds_its_host_side_shm_and_none_has_no_shm()
    {
        Assert.Equal("/r/shm", (string)Mount(Spec(new ContainerOptions { IpcMode = "shareable" }), "/dev/shm")["source"]!);
        Assert.DoesNotContain(Spec(new ContainerOptions { IpcMode = "none" })["mounts"]!.AsArray(), m => (string?)m!["destination"] == "/dev/shm");
        Assert.Equal("mode=1777,size=1048576", IsolationSpec.ShmMountData(new ContainerOptions { ShmSize = 1 << 20 }));
    }

    [Fact]
    public void Privileged_unmasks_proc_makes_sys_writable_and_allows_every_device()
    {
        var spec = Spec(new ContainerOptions { Privileged = true });
        Assert.Empty(spec["linux"]!["maskedPaths"]!.AsArray());
        Assert.Empty(spec["linux"]!["readonlyPaths"]!.AsArray());
        Assert.DoesNotContain("ro", Mount(spec, "/sys")["options"]!.AsArray().Select(o => (string)o!));
        var rules = spec["linux"]!["resources"]!["devices"]!.AsArray();
        Assert.Single(rules);
        Assert.True((bool)rules[0]!["allow"]!);
        Assert.Contains(spec["linux"]!["devices"]!.AsArray(), d => (string?)d!["path"] == "/dev/null");
        Assert.Equal(["seccomp=unconfined", "no-new-privileges=false"], PSContainer.Engine.Security.ContainerSecurity.Of(new ContainerOptions { Privileged = true }).ToOptions().Take(2));
    }

    [Fact]
    public void Resources_init_and_oom_score_are_written()
    {
        var spec = Spec(new ContainerOptions
        {
            MemoryReservation = 1 << 25, MemorySwappiness = 10, OomKillDisable = true, CpusetCpus = "0", CpusetMems = "0",
            BlkioWeight = 300, OomScoreAdj = -500, Init = true, ShmSize = 1 << 20, Ulimits = ["nofile=10:20"], Sysctls = new() { ["net.ipv4.ip_forward"] = "1" },
        });
        var r = spec["linux"]!["resources"]!;
        Assert.Equal(1L << 25, (long)r["memory"]!["reservation"]!);
        Assert.Equal(10L, (long)r["memory"]!["swappiness"]!);
        Assert.True((bool)r["memory"]!["disableOOMKiller"]!);
        Assert.Equal("0", (string)r["cpu"]!["cpus"]!);
        Assert.Equal(300, (int)r["blockIO"]!["weight"]!);
        Assert.Equal(-500, (int)spec["process"]!["oomScoreAdj"]!);
        Assert.Equal([IsolationSpec.InitPathInContainer, "--", "sh"], spec["process"]!["args"]!.AsArray().Select(a => (string)a!));
        Assert.Contains("size=1048576", Mount(spec, "/dev/shm")["options"]!.AsArray().Select(o => (string)o!));
        var nofile = spec["process"]!["rlimits"]!.AsArray().Single(l => (string?)l!["type"] == "RLIMIT_NOFILE")!;
        Assert.Equal((10UL, 20UL), ((ulong)nofile["soft"]!, (ulong)nofile["hard"]!));
        Assert.Equal("1", (string)spec["linux"]!["sysctl"]!["net.ipv4.ip_forward"]!);
    }
}
