using System.Management.Automation;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Images;
using PSContainer.Engine.Oci;
using PSContainer.Host;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// Healthcheck options as docker takes them (creation parameters, the image's Healthcheck, docker's merge and
/// defaults, HEALTHCHECK in -Change, durations) and the status file the monitor writes.
/// </summary>
public sealed class HealthcheckTests
{
    private const long Ms = 1_000_000, S = 1000 * Ms;

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("500ms", 500)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("0", 0)]
    [InlineData("2500us", 2.5)]
    [InlineData("-1s", -1000)]
    public void DurationsReadAsDockerWritesThem(string text, double milliseconds)
    {
        Assert.True(Duration.TryParse(text, out var d, out string? error), error);
        Assert.Equal(milliseconds, d.TotalMilliseconds, 6);
    }

    [Theory]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("30x")]
    [InlineData("s")]
    [InlineData("1..2s")]
    public void NonDurationsAreRefused(string text)
    {
        Assert.False(Duration.TryParse(text, out _, out string? error));
        Assert.Contains("duration", error);
    }

    [Fact]
    public void DurationParametersTakeDockerTextTimeSpansAndSeconds()
    {
        var t = new DurationTransformationAttribute();
        Assert.Equal(TimeSpan.FromMilliseconds(250), t.Transform(null!, "250ms"));
        Assert.Equal(TimeSpan.FromSeconds(30), t.Transform(null!, "00:00:30"));
        // PowerShell reads an unquoted 30s as the short 30: seconds, not ticks.
        Assert.Equal(TimeSpan.FromSeconds(30), t.Transform(null!, (short)30));
        Assert.Equal(TimeSpan.FromSeconds(1.5), t.Transform(null!, new PSObject(1.5)));
        Assert.Equal(TimeSpan.FromMinutes(1), t.Transform(null!, TimeSpan.FromMinutes(1)));
        Assert.Null(t.Transform(null!, null));
        Assert.Throws<ArgumentTransformationMetadataException>(() => t.Transform(null!, "soon"));
    }

    [Fact]
    public void OneCommandIsAShellCommandSeveralAreTheExecForm()
    {
        Assert.Equal(["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
            ContainerOptions.HealthFromParameters(["curl -f http://localhost/ || exit 1"], null, null, null, null, null, false)!.Test);
        Assert.Equal(["CMD", "curl", "-f", "http://localhost/"],
            ContainerOptions.HealthFromParameters(["curl", "-f", "http://localhost/"], null, null, null, null, null, false)!.Test);
        Assert.Equal(["CMD-SHELL", "true"], ContainerOptions.HealthFromParameters(["CMD-SHELL", "true"], null, null, null, null, null, false)!.Test);
        Assert.Equal(["NONE"], ContainerOptions.HealthFromParameters(null, null, null, null, null, null, true)!.Test);
        Assert.Null(ContainerOptions.HealthFromParameters(null, null, null, null, null, null, false));
    }

    [Fact]
    public void TimingsBecomeNanosecondsAndTimingsAloneInheritTheTest()
    {
        var h = ContainerOptions.HealthFromParameters(null, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), TimeSpan.Zero, TimeSpan.FromMilliseconds(50), 4, false)!;
        Assert.Null(h.Test);
        Assert.Equal(100 * Ms, h.Interval);
        Assert.Equal(2 * S, h.Timeout);
        Assert.Equal(0, h.StartPeriod);
        Assert.Equal(50 * Ms, h.StartInterval);
        Assert.Equal(4, h.Retries);
    }

    public static TheoryData<string[]?, TimeSpan?, TimeSpan?, TimeSpan?, int?, bool, string> BadParameters() => new()
    {
        { ["true"], TimeSpan.Zero, null, null, null, false, "InvalidHealthcheck" },
        { ["true"], TimeSpan.FromSeconds(-1), null, null, null, false, "InvalidHealthcheck" },
        { ["true"], TimeSpan.FromTicks(5000), null, null, null, false, "InvalidHealthcheck" },   // 0.5 ms
        { ["true"], null, TimeSpan.Zero, null, null, false, "InvalidHealthcheck" },
        { ["true"], null, TimeSpan.FromMilliseconds(-5), null, null, false, "InvalidHealthcheck" },
        { ["true"], null, null, TimeSpan.FromSeconds(-1), null, false, "InvalidHealthcheck" },
        { ["true"], null, null, null, 0, false, "InvalidHealthcheck" },
        { ["true"], null, null, null, -2, false, "InvalidHealthcheck" },
        { [], null, null, null, null, false, "InvalidHealthcheck" },
        { ["  "], null, null, null, null, false, "InvalidHealthcheck" },
        { ["true"], null, null, null, null, true, "HealthcheckConflict" },
        { null, TimeSpan.FromSeconds(1), null, null, null, true, "HealthcheckConflict" },
    };

    [Theory]
    [MemberData(nameof(BadParameters))]
    public void BadParametersAreClearErrors(string[]? command, TimeSpan? interval, TimeSpan? timeout, TimeSpan? startPeriod, int? retries, bool none, string errorId)
    {
        var e = Assert.Throws<EngineException>(() => ContainerOptions.HealthFromParameters(command, interval, timeout, startPeriod, null, retries, none));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Theory]
    [InlineData("[\"FOO\", \"x\"]")]
    [InlineData("[\"CMD\"]")]
    [InlineData("[\"CMD-SHELL\"]")]
    [InlineData("[\"CMD-SHELL\", \"a\", \"b\"]")]
    [InlineData("[\"NONE\", \"x\"]")]
    public void UnknownTestsAreRefused(string test)
    {
        var h = new HealthConfig { Test = JsonSerializer.Deserialize<List<string>>(test) };
        Assert.Equal("InvalidHealthcheck", Assert.Throws<EngineException>(() => ContainerOptions.ValidateHealth(h, "x")).ErrorId);
    }

    [Theory]
    [InlineData(-1, 0, 0)]
    [InlineData(999_999, 0, 0)]
    [InlineData(0, 1, 0)]
    [InlineData(0, 0, -1)]
    public void ImageTimingsFollowDockersDaemonRules(long interval, long timeout, int retries)
    {
        var h = new HealthConfig { Test = ["CMD", "true"], Interval = interval, Timeout = timeout, Retries = retries };
        Assert.Equal("InvalidHealthcheck", Assert.Throws<EngineException>(() => ContainerOptions.ValidateHealth(h, "image x")).ErrorId);
        ContainerOptions.ValidateHealth(new HealthConfig { Test = ["CMD", "true"], Interval = Ms }, "image x");
    }

    [Fact]
    public void TheContainersFieldsOverTheImagesThenDockersDefaults()
    {
        var image = new HealthConfig { Test = ["CMD-SHELL", "check"], Interval = 100 * Ms, Retries = 5 };
        var none = ContainerOptions.EffectiveHealthcheck(null, null);
        Assert.Null(none);

        var inherited = ContainerOptions.EffectiveHealthcheck(null, image)!;
        Assert.Equal(["CMD-SHELL", "check"], inherited.Test);
        Assert.Equal(100 * Ms, inherited.Interval);
        Assert.Equal(30 * S, inherited.Timeout);          // docker's default
        Assert.Equal(0, inherited.StartPeriod);
        Assert.Equal(5 * S, inherited.StartInterval);     // docker's default
        Assert.Equal(5, inherited.Retries);

        var mine = ContainerOptions.EffectiveHealthcheck(new HealthConfig { Test = ["CMD", "mine"], Timeout = 2 * S }, image)!;
        Assert.Equal(["CMD", "mine"], mine.Test);
        Assert.Equal(100 * Ms, mine.Interval);
        Assert.Equal(2 * S, mine.Timeout);
        Assert.Equal(5, mine.Retries);

        Assert.Null(ContainerOptions.EffectiveHealthcheck(new HealthConfig { Test = ["NONE"] }, image));
        // Timings without a test anywhere: no healthcheck at all.
        Assert.Null(ContainerOptions.EffectiveHealthcheck(new HealthConfig { Interval = S }, null));
        var defaults = ContainerOptions.EffectiveHealthcheck(new HealthConfig { Test = ["CMD", "x"] }, null)!;
        Assert.Equal((30 * S, 30 * S, 3), (defaults.Interval, defaults.Timeout, defaults.Retries));
        Assert.Equal(["/bin/sh", "-c", "check"], ContainerOptions.HealthArguments(inherited));
        Assert.Equal(["mine"], ContainerOptions.HealthArguments(mine));
    }

    [Fact]
    public void TheImageConfigsHealthcheckIsReadAndWrittenInDockersShape()
    {
        const string json = """{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":1000000000,"Retries":2}}}""";
        var file = OciJson.Parse<ImageConfigFile>(Encoding.UTF8.GetBytes(json), "image config", null);
        var run = ImageStore.ToRunConfig(file.Config);
        Assert.Equal(["CMD-SHELL", "true"], run.Healthcheck!.Test);
        Assert.Equal(S, run.Healthcheck.Interval);
        Assert.Equal(2, run.Healthcheck.Retries);
        Assert.Equal("""{"Test":["CMD-SHELL","true"],"Interval":1000000000,"Retries":2}""", JsonSerializer.Serialize(run.Healthcheck));
    }

    private static JsonNode? ApplyChange(string change)
    {
        var config = new JsonObject { ["Cmd"] = new JsonArray("sh") };
        CommitChanges.Apply(config, [change]);
        return config["Healthcheck"];
    }

    [Fact]
    public void HealthcheckChangesTakeDockerfileForms()
    {
        Assert.Equal("""{"Test":["CMD-SHELL","curl -f http://localhost/ || exit 1"],"Interval":500000000,"Timeout":3000000000,"StartPeriod":0,"StartInterval":100000000,"Retries":4}""",
            ApplyChange("HEALTHCHECK --interval=500ms --timeout=3s --start-period=0s --start-interval=100ms --retries=4 CMD curl -f http://localhost/ || exit 1")!.ToJsonString());
        Assert.Equal("""{"Test":["CMD","/check","-q"]}""", ApplyChange("healthcheck CMD [\"/check\", \"-q\"]")!.ToJsonString());
        Assert.Equal("""{"Test":["NONE"]}""", ApplyChange("HEALTHCHECK NONE")!.ToJsonString());
    }

    [Theory]
    [InlineData("HEALTHCHECK")]
    [InlineData("HEALTHCHECK --interval=1s")]
    [InlineData("HEALTHCHECK CMD")]
    [InlineData("HEALTHCHECK RUN true")]
    [InlineData("HEALTHCHECK --interval 1s CMD true")]
    [InlineData("HEALTHCHECK --interval=100us CMD true")]
    [InlineData("HEALTHCHECK --interval=-1s CMD true")]
    [InlineData("HEALTHCHECK --timeout=soon CMD true")]
    [InlineData("HEALTHCHECK --retries=-1 CMD true")]
    [InlineData("HEALTHCHECK --every=1s CMD true")]
    [InlineData("HEALTHCHECK NONE CMD true")]
    [InlineData("HEALTHCHECK --retries=1 NONE")]
    [InlineData("HEALTHCHECK CMD [\"a\", 1]")]
    public void BadHealthcheckChangesAreRefused(string change)
    {
        Assert.Equal("InvalidChange", Assert.Throws<EngineException>(() => ApplyChange(change)).ErrorId);
    }

    [Fact]
    public void TheStatusFileReadsAsTheMonitorWritesIt()
    {
        const string json = """
            {"Status":"unhealthy","FailingStreak":3,"Log":[
             {"Start":"2026-12-01T08:11:45.055983240Z","End":"2026-12-01T08:11:45.107380255Z","ExitCode":1,"Output":"not ready\n"},
             {"Start":"2026-12-01T08:11:45.214417544Z","End":"2026-12-01T08:11:45.263146158Z","ExitCode":-1,"Output":"Health check exceeded timeout (200ms)"}]}
            """;
        var h = ContainerHealth.Parse(Encoding.UTF8.GetBytes(json))!;
        Assert.Equal("unhealthy", h.Status);
        Assert.Equal(3, h.FailingStreak);
        Assert.Equal(2, h.Log.Length);
        Assert.Equal("not ready\n", h.Log[0].Output);
        Assert.Equal(-1, h.Log[1].ExitCode);
        Assert.Equal(new DateTime(2026, 12, 1, 8, 11, 45, DateTimeKind.Utc).AddTicks(1073802), h.Log[0].End.ToUniversalTime());
        Assert.Equal("unhealthy", h.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"Status\":\"healthy\",\"Log\":[")]               // cut short
    [InlineData("{\"Status\":\"fine\",\"FailingStreak\":0,\"Log\":[]}")] // not a status docker has
    [InlineData("[1,2]")]
    public void AStatusFileThatIsNotOneReadsAsNone(string text)
    {
        Assert.Null(ContainerHealth.Parse(Encoding.UTF8.GetBytes(text)));
    }

    [Fact]
    public void AMissingStatusFileIsNoHealth()
    {
        Assert.Null(ContainerHealth.ReadFile(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "health.json")));
        Assert.Null(ContainerHealth.ReadFile(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"))));
    }

    [Fact]
    public void RunningStatusShowsTheHealthAsDockerPsDoes()
    {
        var now = new DateTime(2026, 12, 1, 9, 0, 0, DateTimeKind.Utc);
        Container C(string? status, ContainerState state = ContainerState.Running) => new()
        {
            State = state, StartedAt = now.AddSeconds(-3), FinishedAt = now, ExitCode = 0,
            Health = status is null ? null : new ContainerHealth { Status = status },
        };
        Assert.Equal("Up 3 seconds (healthy)", C("healthy").StatusText(now));
        Assert.Equal("Up 3 seconds (health: starting)", C("starting").StatusText(now));
        Assert.Equal("Up 3 seconds (unhealthy)", C("unhealthy").StatusText(now));
        Assert.Equal("Up 3 seconds", C(null).StatusText(now));
        Assert.Equal("Exited (0) Less than a second ago", C("healthy", ContainerState.Exited).StatusText(now));
    }
}
