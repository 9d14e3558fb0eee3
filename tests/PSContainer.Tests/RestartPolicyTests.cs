using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Service;
using Xunit;

namespace PSContainer.Tests;

/// <summary>Restart policies as docker spells and applies them (moby's restartmanager), and the boot unit's text.</summary>
public sealed class RestartPolicyTests
{
    [Theory]
    [InlineData(null, "no")]
    [InlineData("", "no")]
    [InlineData("no", "no")]
    [InlineData("always", "always")]
    [InlineData("unless-stopped", "unless-stopped")]
    [InlineData("on-failure", "on-failure")]
    [InlineData("on-failure:0", "on-failure")]
    [InlineData("on-failure:3", "on-failure:3")]
    [InlineData("ON-FAILURE:3", "on-failure:3")]
    public void ParsesDockersSpellings(string? text, string canonical) =>
        Assert.Equal(canonical, RestartPolicySpec.Parse(text).ToString());

    [Theory]
    [InlineData("bogus")]
    [InlineData("on-failure:-1")]
    [InlineData("on-failure:x")]
    [InlineData("on-failure:")]
    [InlineData("always:2")]
    [InlineData("no:1")]
    [InlineData("unless-stopped:1")]
    public void RefusesWhatIsNoPolicy(string text)
    {
        var e = Assert.Throws<EngineException>(() => RestartPolicySpec.Parse(text));
        Assert.Equal("InvalidRestartPolicy", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Equal(text, e.Target);
    }

    [Fact]
    public void ARestartingPolicyConflictsWithAutoRemove()
    {
        var e = Assert.Throws<EngineException>(() => ContainerOptions.ValidateRestart(new ContainerOptions { RestartPolicy = "always", AutoRemove = true }));
        Assert.Equal("RestartPolicyConflict", e.ErrorId);
        var fine = new ContainerOptions { RestartPolicy = "no", AutoRemove = true };
        ContainerOptions.ValidateRestart(fine);
        Assert.Null(fine.RestartPolicy);
        var stored = new ContainerOptions { RestartPolicy = "On-Failure:2" };
        ContainerOptions.ValidateRestart(stored);
        Assert.Equal("on-failure:2", stored.RestartPolicy);
    }

    [Theory]
    [InlineData("on-failure:2", 1, 0, true)]
    [InlineData("on-failure:2", 1, 1, true)]
    [InlineData("on-failure:2", 1, 2, false)]   // spent: at most N restarts
    [InlineData("on-failure:2", 0, 0, false)]   // only failures
    [InlineData("on-failure", 137, 1000, true)] // no limit
    [InlineData("always", 0, 50, true)]
    [InlineData("unless-stopped", 0, 0, true)]
    [InlineData("no", 1, 0, false)]
    public void DecidesARestartAsDockerDoes(string policy, int exitCode, int count, bool restart) =>
        Assert.Equal(restart, RestartPolicySpec.Parse(policy).ShouldRestart(exitCode, stoppedByUser: false, count));

    [Theory]
    [InlineData("always")]
    [InlineData("unless-stopped")]
    [InlineData("on-failure")]
    public void AUsersStopCancelsEveryPolicy(string policy) =>
        Assert.False(RestartPolicySpec.Parse(policy).ShouldRestart(1, stoppedByUser: true, 0));

    [Theory]
    [InlineData("always", false, true)]
    [InlineData("always", true, true)]           // docker starts always containers at daemon start even if stopped
    [InlineData("unless-stopped", false, true)]
    [InlineData("unless-stopped", true, false)]
    [InlineData("on-failure", false, false)]
    [InlineData("no", false, false)]
    public void StartsAtBootAsDockersDaemonStartDoes(string policy, bool stopped, bool starts) =>
        Assert.Equal(starts, RestartPolicySpec.Parse(policy).StartsAtBoot(stopped));

    [Fact]
    public void BacksOffFrom100msDoublingToAMinute()
    {
        var quick = TimeSpan.FromSeconds(1);
        var delays = new List<double>();
        var d = TimeSpan.Zero;
        for (int i = 0; i < 12; i++)
        {
            d = RestartPolicySpec.NextDelay(d, quick);
            delays.Add(d.TotalMilliseconds);
        }
        Assert.Equal([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000], delays);
    }

    [Fact]
    public void ARunOfTenSecondsResetsTheBackoff()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(100), RestartPolicySpec.NextDelay(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10)));
        Assert.Equal(TimeSpan.FromSeconds(60), RestartPolicySpec.NextDelay(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(9.9)));
    }

    [Fact]
    public void TheBootUnitIsAOneshotRunningTheCommandQuoted()
    {
        string text = BootService.UnitText(["/usr/share/dotnet/dotnet", "/m/psc-service.dll", "boot", "--root", "/var/lib/my root", "--env", "PSCONTAINER_X=a$b%c"], "/var/lib/my root");
        Assert.Contains("\nType=oneshot\n", text, StringComparison.Ordinal);
        Assert.Contains("\nWantedBy=multi-user.target\n", text, StringComparison.Ordinal);
        Assert.Contains("ExecStart=/usr/share/dotnet/dotnet /m/psc-service.dll boot --root \"/var/lib/my root\" --env \"PSCONTAINER_X=a$$b%%c\"\n", text, StringComparison.Ordinal);
        Assert.Equal("pscontainer.service", BootService.UnitName("/var/lib/pscontainer"));
        Assert.Matches("^pscontainer-[0-9a-f]{12}\\.service$", BootService.UnitName("/tmp/x"));
        Assert.NotEqual(BootService.UnitName("/tmp/x"), BootService.UnitName("/tmp/y"));
    }
}
