using System.Collections;
using System.Collections.Concurrent;
using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Build;
using PSContainer.Engine.Images;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Builds an image from a Dockerfile and a build context, daemonless (docker build).</para>
/// </summary>
[Cmdlet("Build", "ContainerImage", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerImage))]
public sealed class BuildContainerImageCommand : PSContainerCmdlet
{
    /// <summary>The build context directory.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public string Path { get; set; } = "";

    /// <summary>The Dockerfile (default: Dockerfile in the context).</summary>
    [Parameter]
    public string? File { get; set; }

    [Parameter]
    public string[] Tag { get; set; } = [];

    [Parameter]
    public Hashtable? BuildArg { get; set; }

    [Parameter]
    public string? Target { get; set; }

    [Parameter]
    public Hashtable? Label { get; set; }

    [Parameter]
    public SwitchParameter NoCache { get; set; }

    [Parameter]
    public SwitchParameter Pull { get; set; }

    [Parameter]
    public string? Platform { get; set; }

    /// <summary>Secrets for RUN --mount=type=secret: @{ id = 'path' } hashtables or 'id=ID,src=PATH' strings.</summary>
    [Parameter]
    public object[] Secret { get; set; } = [];

    [Parameter]
    [ValidateSet("none", "bridge", "host", "default")]
    public string Network { get; set; } = "bridge";

    protected override void ProcessRecord()
    {
        string context = GetUnresolvedProviderPathFromPSPath(Path);
        string? file = File is null ? null : GetUnresolvedProviderPathFromPSPath(File);
        if (!ShouldProcess(context, $"Build image {string.Join(", ", Tag)}")) return;
        Dictionary<string, string> secrets;
        var secretValues = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            secrets = SecretFiles(secretValues);
        }
        catch (EngineException e)
        {
            WriteError(ToErrorRecord(e));
            return;
        }
        var queue = new BlockingCollection<object>();
        var engine = Engine;
        var cancel = Cancellation;
        var options = new BuildOptions
        {
            ContextDirectory = context, Dockerfile = file, Tags = Tag, BuildArgs = ToDictionary(BuildArg), Target = Target,
            Labels = ToDictionary(Label), NoCache = NoCache, Pull = Pull, Platform = Platform, Network = Network, Secrets = secrets, SecretValues = secretValues,
            Progress = new QueueProgress(queue), Output = (line, stream) => queue.TryAdd(new OutputLine(line, stream)),
            Note = note => queue.TryAdd(new Note(note)), Cancel = cancel,
        };
        var task = Task.Run(() =>
        {
            try { return ImageBuilder.For(engine).Build(options); }
            finally { queue.CompleteAdding(); }
        });
        foreach (object item in queue.GetConsumingEnumerable()) Show(item);
        WriteProgress(new ProgressRecord(1, "Building " + context, "Done") { RecordType = ProgressRecordType.Completed });
        try
        {
            WriteObject(task.GetAwaiter().GetResult());
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (EngineException e)
        {
            var record = ToErrorRecord(e);
            if (e is DockerfileException { ExitCode: int code }) record.ErrorDetails = new ErrorDetails(e.Message) { RecommendedAction = $"Fix the step (exit code {code}) and build again." };
            WriteError(record);
        }
    }

    private void Show(object item)
    {
        switch (item)
        {
            case BuildProgress p:
                string status = $"Step {p.Step}/{p.Steps} [{p.Stage}] {p.Text}{(p.Cached ? " (cached)" : "")}";
                WriteProgress(new ProgressRecord(1, "Building " + Path, status) { PercentComplete = Math.Min(100, p.Step * 100 / Math.Max(1, p.Steps)) });
                WriteVerbose(status);
                break;
            case OutputLine o:
                WriteInformation(o.Line, ["PSContainer.Build", o.Stream]);
                break;
            case Note n:
                WriteWarning(n.Text);
                break;
        }
    }

    /// <summary>
    /// -Secret as id to full host path (hashtables and id=..,src=.. strings, as docker build --secret takes them); an
    /// id=..,env=NAME secret goes to <paramref name="values"/> with the variable's value.
    /// </summary>
    private Dictionary<string, string> SecretFiles(Dictionary<string, string> values)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (object item in Secret)
        {
            if ((item is PSObject ps ? ps.BaseObject : item) is Hashtable table)
                foreach (DictionaryEntry e in table)
                    result[BuildSecret.CheckId(e.Key.ToString() ?? "")] = GetUnresolvedProviderPathFromPSPath(e.Value?.ToString() ?? "");
            else
            {
                var (id, path, env) = BuildSecret.Parse(item.ToString() ?? "");
                if (env is null) result[id] = GetUnresolvedProviderPathFromPSPath(path!);
                else
                    values[id] = Environment.GetEnvironmentVariable(env)
                                 ?? throw new EngineException("SecretNotFound", ErrorKind.ObjectNotFound, item.ToString(),
                                     $"the secret '{id}' names the environment variable {env}, which is not set.");
            }
        }
        return result;
    }

    private static Dictionary<string, string> ToDictionary(Hashtable? table)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (table is null) return result;
        foreach (DictionaryEntry e in table) result[e.Key.ToString() ?? ""] = e.Value?.ToString() ?? "";
        return result;
    }

    private sealed record OutputLine(string Line, string Stream);

    private sealed record Note(string Text);

    private sealed class QueueProgress(BlockingCollection<object> queue) : IProgress<BuildProgress>
    {
        public void Report(BuildProgress value)
        {
            if (!queue.IsAddingCompleted) queue.TryAdd(value);
        }
    }
}
