using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
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
                DateTime? since = Since?.ToUniversalTime();
                // One snapshot, then (with -Follow) everything after it: reading twice would lose what was written between.
                var snapshot = Engine.Containers.Logs(key, false, Cancellation).ToList();
                IEnumerable<ContainerLogRecord> records = snapshot;
                if (since is DateTime s) records = records.Where(r => r.Time >= s);
                if (Tail is int tail) records = records.TakeLast(tail);
                foreach (var r in records) Write(r);
                if (Follow)
                {
                    foreach (var r in Engine.Containers.Logs(key, true, Cancellation).Skip(snapshot.Count))
                        if (since is not DateTime t || r.Time >= t) Write(r);
                }
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
