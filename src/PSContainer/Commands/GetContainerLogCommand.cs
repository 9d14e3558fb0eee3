using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gets a container's output: objects with Time, Stream (stdout/stderr) and Line (docker logs).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerLog", DefaultParameterSetName = ByName)]
[OutputType(typeof(ContainerLogRecord), typeof(string))]
public sealed class GetContainerLogCommand : ContainerTargetCmdlet
{
    /// <summary>Only the last N lines.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Tail { get; set; }

    /// <summary>Only lines written at or after this time.</summary>
    [Parameter]
    public DateTime? Since { get; set; }

    /// <summary>Write strings "TIME LINE" instead of objects.</summary>
    [Parameter]
    public SwitchParameter Timestamps { get; set; }

    /// <summary>Keep writing new lines until the container stops (or Ctrl+C).</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (key, _) in Targets())
        {
            try
            {
                // docker logs' query on the service (the API's logs endpoint reads the same way).
                var query = new LogQuery { Since = Since?.ToUniversalTime(), Tail = Tail, Follow = Follow };
                foreach (var r in Engine.Service.Logs(key, query, Cancellation)) Write(r);
            }
            catch (OperationCanceledException)
            {
                throw new PipelineStoppedException();
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }

    private void Write(ContainerLogRecord r)
    {
        if (Timestamps) WriteObject($"{r.Time:yyyy-MM-ddTHH:mm:ss.fffffffZ} {r.Line}");
        else WriteObject(r);
    }
}
