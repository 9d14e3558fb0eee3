using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSContainer.Host;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// A container's stderr line as the error record pwsh makes for a native command's (NativeErrorLineRecord): the line
/// exactly, pwsh's ids, and, written by a cmdlet, an id that stays as given so the error view prints the line alone.
/// </summary>
public sealed class NativeErrorLineRecordTests
{
    public static TheoryData<string> Lines() => new()
    {
        "oops",
        "",
        "   ",
        "\t",
        "tab\there",
        "a_x0041_b and _X0041_ and _x",
        "\u001b[31mred\u001b[0m",
        "<xml attr=\"1\"> & </xml>",
        "über café ß",
        "emoji \U0001F600 ok",
        "nul\0end \u0085 \u007f",
        "line ending in backslash \\",
    };

    [Theory]
    [MemberData(nameof(Lines))]
    public void CarriesTheLineExactly(string line)
    {
        var record = NativeErrorLineRecord.Create(line, first: false, target: "web");
        Assert.IsType<RemoteException>(record.Exception);
        Assert.Equal(line, record.Exception.Message);
    }

    [Fact]
    public void UsesPwshsIdsAndNamesTheContainer()
    {
        var first = NativeErrorLineRecord.Create("oops", first: true, target: "web&<1>");
        Assert.Equal("NativeCommandError", first.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.NotSpecified, first.CategoryInfo.Category);
        Assert.Equal("web&<1>", first.TargetObject);
        var next = NativeErrorLineRecord.Create("again", first: false, target: "web");
        Assert.Equal("NativeCommandErrorMessage", next.FullyQualifiedErrorId);
    }

    [Fact]
    public void KeepsItsIdWhenACmdletWritesItAndShowsJustTheLine()
    {
        var state = InitialSessionState.CreateDefault2();
        state.Commands.Add(new SessionStateCmdletEntry("Write-ContainerLine", typeof(WriteContainerLineCommand), null));
        using var ps = PowerShell.Create(state);
        ps.AddScript("$r = @(Write-ContainerLine 2>&1); $r | ForEach-Object FullyQualifiedErrorId; ($r | Out-String).Trim(); $r[0].InvocationInfo.MyCommand.Name");
        var output = ps.Invoke().Select(o => o.ToString()).ToList();
        Assert.Equal(["NativeCommandError", "NativeCommandErrorMessage", "oops\nsecond".ReplaceLineEndings(), "Write-ContainerLine"], output);
        Assert.Empty(ps.Streams.Error);
    }

    [Fact]
    public void APlainErrorRecordWouldGetTheCmdletsTypeAndItsNameBeforeTheLine()
    {
        // Why the record is built as it is: the view's native case is off for an id with the cmdlet's type appended.
        var state = InitialSessionState.CreateDefault2();
        state.Commands.Add(new SessionStateCmdletEntry("Write-ContainerLine", typeof(WriteContainerLineCommand), null));
        using var ps = PowerShell.Create(state);
        ps.AddScript("$r = @(Write-ContainerLine -Plain 2>&1); $r[0].FullyQualifiedErrorId; ($r | Out-String).Trim()");
        var output = ps.Invoke().Select(o => o.ToString()).ToList();
        Assert.Equal($"NativeCommandError,{typeof(WriteContainerLineCommand).FullName}", output[0]);
        Assert.StartsWith("Write-ContainerLine:", output[1], StringComparison.Ordinal);
    }

    /// <summary>A cmdlet that writes two stderr lines the way Start-Container does.</summary>
    [Cmdlet(VerbsCommunications.Write, "ContainerLine")]
    public sealed class WriteContainerLineCommand : PSCmdlet
    {
        /// <summary>Write an ordinary ErrorRecord with the same id instead.</summary>
        [Parameter]
        public SwitchParameter Plain { get; set; }

        protected override void ProcessRecord()
        {
            if (Plain)
            {
                WriteError(new ErrorRecord(new RemoteException("oops"), "NativeCommandError", ErrorCategory.NotSpecified, "web"));
                return;
            }
            WriteError(NativeErrorLineRecord.Create("oops", first: true, target: "web"));
            WriteError(NativeErrorLineRecord.Create("second", first: false, target: "web"));
        }
    }
}
