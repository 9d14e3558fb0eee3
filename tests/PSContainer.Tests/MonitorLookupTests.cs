using PSContainer.Engine.Containers;
using Xunit;

namespace PSContainer.Tests;

/// <summary>Finding a container's monitor to kill it after an interrupted start: renamed, or not yet.</summary>
public sealed class MonitorLookupTests
{
    private const string Id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Fact]
    public void A_renamed_monitor_is_found_by_its_name() =>
        Assert.True(ContainerManager.IsMonitorOf(["psc-0123456789ab", ""], Id));

    [Fact]
    public void A_monitor_that_has_not_renamed_itself_yet_is_found_by_its_arguments() =>
        Assert.True(ContainerManager.IsMonitorOf(["/opt/m/native/psc-monitor", "--runtime", "/x/psc-runtime", "--id", Id, "--bundle", "/b"], Id));

    [Theory]
    [InlineData("/opt/m/native/psc-monitor", "--id", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde0")]
    [InlineData("/usr/bin/sleep", "--id", Id)]
    [InlineData("/opt/m/native/psc-monitor", "--bundle", Id)]
    [InlineData("psc-0123456789ac", "", "")]
    public void Other_processes_are_not(string argv0, string arg1, string arg2) =>
        Assert.False(ContainerManager.IsMonitorOf([argv0, arg1, arg2], Id));

    [Fact]
    public void An_empty_command_line_is_not() => Assert.False(ContainerManager.IsMonitorOf([], Id));
}
