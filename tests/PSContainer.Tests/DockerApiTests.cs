using System.Text.Json;
using PSContainer.Api;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;
using Xunit;

namespace PSContainer.Tests;

/// <summary>The Docker API's pure parts: version routing, the multiplexed frame format, and the mapping of a create
/// request onto ContainerOptions (with what must be refused), plus the service layer's list filters.</summary>
public sealed class DockerApiTests
{
    // What the docker 20.10 CLI sent for: docker run --rm -d -p 127.0.0.1:8080:80 -v /tmp:/data:ro -e A=1
    // --memory 64m --cpus 0.5 --name x -l k=v -w /tmp -u 1:1 busybox echo hi (captured on a socket).
    private const string DockerRunBody = @"{""Hostname"":"""",""Domainname"":"""",""User"":""1:1"",""AttachStdin"":false,""AttachStdout"":false,""AttachStderr"":false,""ExposedPorts"":{""80/tcp"":{}},""Tty"":false,""OpenStdin"":false,""StdinOnce"":false,""Env"":[""A=1""],""Cmd"":[""echo"",""hi""],""Image"":""busybox"",""Volumes"":{},""WorkingDir"":""/tmp"",""Entrypoint"":null,""OnBuild"":null,""Labels"":{""k"":""v""},""HostConfig"":{""Binds"":[""/tmp:/data:ro""],""ContainerIDFile"":"""",""LogConfig"":{""Type"":"""",""Config"":{}},""NetworkMode"":""default"",""PortBindings"":{""80/tcp"":[{""HostIp"":""127.0.0.1"",""HostPort"":""8080""}]},""RestartPolicy"":{""Name"":""no"",""MaximumRetryCount"":0},""AutoRemove"":true,""VolumeDriver"":"""",""VolumesFrom"":null,""CapAdd"":null,""CapDrop"":null,""CgroupnsMode"":"""",""Dns"":[],""DnsOptions"":[],""DnsSearch"":[],""ExtraHosts"":null,""GroupAdd"":null,""IpcMode"":"""",""Cgroup"":"""",""Links"":null,""OomScoreAdj"":0,""PidMode"":"""",""Privileged"":false,""PublishAllPorts"":false,""ReadonlyRootfs"":false,""SecurityOpt"":null,""UTSMode"":"""",""UsernsMode"":"""",""ShmSize"":0,""ConsoleSize"":[0,0],""Isolation"":"""",""CpuShares"":0,""Memory"":67108864,""NanoCpus"":500000000,""CgroupParent"":"""",""BlkioWeight"":0,""BlkioWeightDevice"":[],""BlkioDeviceReadBps"":null,""BlkioDeviceWriteBps"":null,""BlkioDeviceReadIOps"":null,""BlkioDeviceWriteIOps"":null,""CpuPeriod"":0,""CpuQuota"":0,""CpuRealtimePeriod"":0,""CpuRealtimeRuntime"":0,""CpusetCpus"":"""",""CpusetMems"":"""",""Devices"":[],""DeviceCgroupRules"":null,""DeviceRequests"":null,""KernelMemory"":0,""KernelMemoryTCP"":0,""MemoryReservation"":0,""MemorySwap"":0,""MemorySwappiness"":-1,""OomKillDisable"":false,""PidsLimit"":0,""Ulimits"":null,""CpuCount"":0,""CpuPercent"":0,""IOMaximumIOps"":0,""IOMaximumBandwidth"":0,""MaskedPaths"":null,""ReadonlyPaths"":null},""NetworkingConfig"":{""EndpointsConfig"":{}}}
";

    [Theory]
    [InlineData("/v1.41/containers/json", "1.41", "/containers/json")]
    [InlineData("/v1.24/_ping", "1.24", "/_ping")]
    [InlineData("/v1.41", "1.41", "/")]
    [InlineData("/v1.5.2/version", "1.5.2", "/version")]
    public void SplitsTheVersionPrefix(string path, string version, string rest)
    {
        Assert.True(ApiVersion.TrySplitPath(path, out string v, out string r));
        Assert.Equal(version, v);
        Assert.Equal(rest, r);
    }

    [Theory]
    [InlineData("/containers/json")]
    [InlineData("/_ping")]
    [InlineData("/version")]
    [InlineData("/volumes/v1.41")]
    public void LeavesUnversionedPathsAlone(string path)
    {
        Assert.False(ApiVersion.TrySplitPath(path, out _, out string rest));
        Assert.Equal(path, rest);
    }

    [Fact]
    public void RefusesVersionsOutsideTheServedRangeWithDockerdsMessages()
    {
        Assert.Null(ApiVersion.Refusal("1.41"));
        Assert.Null(ApiVersion.Refusal("1.44"));
        Assert.Null(ApiVersion.Refusal("1.12"));
        Assert.Null(ApiVersion.Refusal("1.30"));
        Assert.Equal("client version 1.45 is too new. Maximum supported API version is 1.44", ApiVersion.Refusal("1.45"));
        Assert.Equal("client version 2.0 is too new. Maximum supported API version is 1.44", ApiVersion.Refusal("2.0"));
        Assert.Equal("client version 1.11 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version", ApiVersion.Refusal("1.11"));
        Assert.Contains("invalid API version", ApiVersion.Refusal("1.5.2"));
        // 1.5 is older than 1.12 (numbers, not text).
        Assert.True(new ApiVersion(1, 5) < new ApiVersion(1, 12));
    }

    [Fact]
    public void FramesCarryTheStreamAndABigEndianLength()
    {
        byte[] frame = FrameWriter.Frame(StreamType.Stderr, "hi\n");
        Assert.Equal(new byte[] { 2, 0, 0, 0, 0, 0, 0, 3, (byte)'h', (byte)'i', (byte)'\n' }, frame);
        byte[] big = FrameWriter.Frame(StreamType.Stdout, new byte[70000]);
        Assert.Equal(new byte[] { 1, 0, 0, 0, 0, 1, 0x11, 0x70 }, big[..8]);
        Assert.Equal(70008, big.Length);
    }

    [Fact]
    public async Task WritesNoFrameForNothing()
    {
        using var output = new MemoryStream();
        await FrameWriter.WriteAsync(output, StreamType.Stdout, "", CancellationToken.None);
        await FrameWriter.WriteAsync(output, StreamType.Stdout, "a", CancellationToken.None);
        Assert.Equal(new byte[] { 1, 0, 0, 0, 0, 0, 0, 1, (byte)'a' }, output.ToArray());
    }

    private static ContainerOptions Map(string json, string? name = null)
    {
        using var doc = JsonDocument.Parse(json);
        return CreateRequestMapper.Map(doc.RootElement, name);
    }

    [Fact]
    public void MapsWhatTheDockerCliSendsForRun()
    {
        var o = Map(DockerRunBody, "x");
        Assert.Equal("x", o.Name);
        Assert.Equal("busybox", o.Image);
        Assert.Equal(["echo", "hi"], o.Command!);
        Assert.Null(o.Entrypoint);
        Assert.Equal("1", o.Environment["A"]);
        Assert.Equal("v", o.Labels["k"]);
        Assert.Equal("/tmp", o.WorkingDirectory);
        Assert.Equal("1:1", o.User);
        Assert.Equal(["/tmp:/data:ro"], o.Volumes);
        Assert.Equal(["127.0.0.1:8080:80/tcp"], o.Publish);
        Assert.Equal("bridge", o.Network);
        Assert.Equal(64L * 1024 * 1024, o.Memory);
        Assert.Equal(0.5, o.Cpus);
        Assert.True(o.AutoRemove);
        // Zero values stay unset: no swap limit, swappiness or pids limit was asked for.
        Assert.Null(o.MemorySwap);
        Assert.Null(o.MemorySwappiness);
        Assert.Null(o.PidsLimit);
        Assert.Null(o.Hostname);
    }

    [Fact]
    public void MapsTheOtherHonouredSettings()
    {
        var o = Map(@"{""Image"":""b"",""Entrypoint"":""sh"",""Volumes"":{""/anon"":{}},
            ""HostConfig"":{""NetworkMode"":""none"",""PortBindings"":{""53/udp"":[{""HostIp"":"""",""HostPort"":""""}]},""Privileged"":true,
            ""CapAdd"":[""NET_ADMIN""],""Tmpfs"":{""/run"":""size=1m"",""/t"":""""},""ExtraHosts"":[""h:1.2.3.4""],""PidsLimit"":-1,""RestartPolicy"":{""Name"":""no""},
            ""Mounts"":[{""Type"":""volume"",""Source"":""data"",""Target"":""/data"",""ReadOnly"":true}]},
            ""NetworkingConfig"":{""EndpointsConfig"":{""none"":{""Aliases"":[""a1""],""IPAMConfig"":{""IPv4Address"":""10.1.0.5""}}}},
            ""ExposedPorts"":{""53/udp"":{}}}");
        Assert.Equal(["sh"], o.Entrypoint!);
        Assert.Equal(["/anon"], o.Volumes);
        Assert.Equal("none", o.Network);
        Assert.Equal(["::53/udp"], o.Publish);
        Assert.True(o.Privileged);
        Assert.Equal(["NET_ADMIN"], o.CapAdd);
        Assert.Equal(["/run:size=1m", "/t"], o.Tmpfs);
        Assert.Equal(["h:1.2.3.4"], o.AddHosts);
        Assert.Null(o.PidsLimit);
        Assert.Equal(["type=volume,source=data,target=/data,readonly"], o.Mounts);
        Assert.Equal(["a1"], o.NetworkAliases);
        Assert.Equal("10.1.0.5", o.IPAddress);
    }

    [Theory]
    [InlineData(@"{""Image"":""b"",""HostConfig"":{""RestartPolicy"":{""Name"":""always""}}}", "RestartPolicy always")]
    [InlineData(@"{""Image"":""b"",""HostConfig"":{""VolumesFrom"":[""other""]}}", "HostConfig.VolumesFrom")]
    [InlineData(@"{""Image"":""b"",""HostConfig"":{""Links"":[""a:b""]}}", "HostConfig.Links")]
    [InlineData(@"{""Image"":""b"",""HostConfig"":{""LogConfig"":{""Type"":""syslog""}}}", "LogConfig.Type syslog")]
    [InlineData(@"{""Image"":""b"",""Healthcheck"":{""Test"":[""CMD"",""true""],""Interval"":-1}}", "Healthcheck.Interval")]
    [InlineData(@"{""Image"":""b"",""Domainname"":""example.org""}", "Domainname")]
    [InlineData(@"{""Image"":""b"",""SomethingNew"":42}", "SomethingNew")]
    [InlineData(@"{""Image"":""b"",""ExposedPorts"":{""80/tcp"":{}}}", "ExposedPorts 80/tcp")]
    [InlineData(@"{""Image"":""b"",""NetworkingConfig"":{""EndpointsConfig"":{""n"":{""Links"":[""x""]}}}}", "EndpointsConfig.n.Links")]
    public void RefusesSettingsItCannotHonourByName(string json, string named)
    {
        var e = Assert.Throws<ApiException>(() => Map(json));
        Assert.Equal(400, e.Status);
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void MapsDockerRunItToATerminalWithStdin()
    {
        // docker run -it: Tty, OpenStdin, StdinOnce and AttachStdin set, the window's size in ConsoleSize.
        var o = Map(@"{""Image"":""b"",""Tty"":true,""OpenStdin"":true,""StdinOnce"":true,""AttachStdin"":true,""HostConfig"":{""ConsoleSize"":[30,100]}}");
        Assert.True(o.Tty);
        Assert.True(o.Interactive);
        var t = Map(@"{""Image"":""b"",""Tty"":true}");
        Assert.True(t.Tty);
        Assert.False(t.Interactive);
    }

    [Fact]
    public void AcceptsUnknownFieldsLeftAtTheirZeroValue()
    {
        var o = Map(@"{""Image"":""b"",""SomethingNew"":{""A"":[],""B"":0,""C"":"""",""D"":null,""E"":false},""HostConfig"":{""KernelMemory"":0,""ConsoleSize"":[0,0],""Isolation"":""default""}}");
        Assert.Equal("b", o.Image);
    }

    [Fact]
    public void NeedsAnImage()
    {
        Assert.Equal(400, Assert.Throws<ApiException>(() => Map(@"{""Cmd"":[""true""]}")).Status);
        Assert.Equal(400, Assert.Throws<ApiException>(() => Map("[]")).Status);
    }

    private static Container C(string name, ContainerState state, params (string, string)[] labels) => new()
    {
        Id = name.PadRight(64, '0'),
        Name = name,
        State = state,
        Labels = labels.ToDictionary(l => l.Item1, l => l.Item2),
    };

    [Fact]
    public void FiltersAsDockerd()
    {
        var web = C("web1", ContainerState.Running, ("tier", "front"));
        var db = C("db", ContainerState.Exited, ("tier", "back"), ("keep", ""));
        IReadOnlyDictionary<string, IReadOnlyList<string>> F(string key, params string[] values) =>
            new Dictionary<string, IReadOnlyList<string>> { [key] = values };
        Assert.True(ContainerService.Matches(web, F("name", "web")));
        Assert.True(ContainerService.Matches(web, F("name", "^/web1$")));
        Assert.False(ContainerService.Matches(db, F("name", "web")));
        Assert.True(ContainerService.Matches(db, F("label", "keep")));
        Assert.True(ContainerService.Matches(db, F("label", "tier=back")));
        Assert.False(ContainerService.Matches(web, F("label", "tier=back")));
        Assert.True(ContainerService.Matches(db, F("status", "exited", "dead")));
        Assert.False(ContainerService.Matches(web, F("status", "exited")));
        Assert.True(ContainerService.Matches(web, F("id", "web1")));
        // Several filters must all hold; the values of one are alternatives.
        var both = new Dictionary<string, IReadOnlyList<string>> { ["status"] = ["running"], ["label"] = ["tier=back"] };
        Assert.False(ContainerService.Matches(web, both));
        Assert.Throws<PSContainer.Engine.EngineException>(() => ContainerService.Matches(web, F("colour", "red")));
    }
}
