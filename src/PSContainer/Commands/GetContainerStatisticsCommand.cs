using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gets containers' CPU, memory, network, block I/O and process counts (docker stats).</para>
/// <para type="description">Each sample compares two readings -Interval apart, so the first comes after one interval.
/// Without -Stream one sample per container is written (docker stats --no-stream); with it, one per interval until Ctrl+C.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerStatistics", DefaultParameterSetName = ByName)]
[OutputType(typeof(ContainerStatistics))]
public sealed class GetContainerStatisticsCommand : PSContainerCmdlet
{
    private const string ByName = "ByName", ByObject = "ByObject";

    /// <summary>Container names or ids; wildcards match names. None: every running container.</summary>
    [Parameter(Position = 0, ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Container[] Container { get; set; } = [];

    /// <summary>Without names: stopped containers too (docker stats -a).</summary>
    [Parameter(ParameterSetName = ByName)]
    public SwitchParameter All { get; set; }

    /// <summary>Write a sample per interval until Ctrl+C.</summary>
    [Parameter]
    public SwitchParameter Stream { get; set; }

    /// <summary>Seconds between the readings a sample compares (default 1).</summary>
    [Parameter]
    public double Interval { get; set; } = 1;

    private readonly List<(string Id, string Name)> targets = new();
    private readonly HashSet<string> seen = new(StringComparer.Ordinal);

    protected override void BeginProcessing()
    {
        if (double.IsNaN(Interval) || double.IsInfinity(Interval) || Interval <= 0 || Interval > TimeSpan.FromDays(1).TotalSeconds)
            ThrowTerminatingError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(Interval), Interval, "-Interval must be more than 0 seconds and at most a day."),
                "InvalidInterval", ErrorCategory.InvalidArgument, Interval));
    }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject)
        {
            foreach (var c in Container) Add(c.Id, c.Name);
            return;
        }
        foreach (string name in Name)
        {
            try
            {
                if (WildcardPattern.ContainsWildcardCharacters(name))
                {
                    var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                    foreach (var c in Engine.Service.Select(name, pattern.IsMatch, isPattern: true)) Add(c.Id, c.Name);
                }
                else
                {
                    var c = Engine.Service.Get(name);
                    Add(c.Id, c.Name);
                }
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }

    private void Add(string id, string name)
    {
        if (seen.Add(id)) targets.Add((id, name));
    }

    protected override void EndProcessing()
    {
        if (ParameterSetName == ByName && Name.Length == 0)
        {
            foreach (var c in Engine.Service.ListAll())
                if (All || c.State is ContainerState.Running or ContainerState.Paused) Add(c.Id, c.Name);
        }
        if (targets.Count == 0) return;
        int cpus = Environment.ProcessorCount;
        long hostMemory = ContainerService.HostMemoryBytes();
        var interval = TimeSpan.FromSeconds(Interval);
        var previous = Read(targets);
        do
        {
            // Woken at once by Ctrl+C (StopProcessing cancels), not at the end of the interval.
            if (Cancellation.WaitHandle.WaitOne(interval)) throw new PipelineStoppedException();
            var current = Read(targets);
            foreach (var (id, sample) in current)
                if (previous.TryGetValue(id, out var before)) WriteObject(ContainerStatistics.From(before, sample, cpus, hostMemory));
            previous = current;
        }
        while (Stream && previous.Count > 0);
    }

    /// <summary>A reading of every target; one removed meanwhile is reported once and dropped.</summary>
    private Dictionary<string, ContainerSample> Read(List<(string Id, string Name)> list)
    {
        var samples = new Dictionary<string, ContainerSample>(StringComparer.Ordinal);
        foreach (var (id, name) in list.ToList())
        {
            try
            {
                samples[id] = Engine.Service.Sample(id);
            }
            catch (EngineException e)
            {
                list.Remove((id, name));
                WriteEngineError(e);
            }
        }
        return samples;
    }
}
