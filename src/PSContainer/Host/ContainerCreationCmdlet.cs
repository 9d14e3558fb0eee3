using System.Collections;
using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Registry;

namespace PSContainer.Host;

/// <summary>
/// The parameters that describe a new container, shared by New-Container and the one-step Start-Container -Image
/// (docker create / docker run), so both take exactly the same options.
/// </summary>
public abstract partial class ContainerCreationCmdlet : PSContainerCmdlet
{
    protected const string RunSet = "Run";

    /// <summary>The image: a name (busybox, app:1) or an id.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = RunSet)]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string Image { get; set; } = "";

    /// <summary>The command, replacing the image's Cmd (docker run IMAGE COMMAND ARG...).</summary>
    [Parameter(Position = 1, ParameterSetName = RunSet)]
    [Alias("Cmd")]
    public string[]? Command { get; set; }

    /// <summary>The new container's name (declared by each cmdlet: Start-Container also uses -Name for existing containers).</summary>
    protected abstract string? NewContainerName { get; }

    /// <summary>Replaces the image's Entrypoint (and drops its Cmd, as docker does).</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string[]? Entrypoint { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    [Alias("Env")]
    public Hashtable? Environment { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    [Alias("Workdir")]
    public string? WorkingDirectory { get; set; }

    /// <summary>user[:group], names or numbers, resolved in the container.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string? User { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    public string? Hostname { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    public Hashtable? Label { get; set; }

    /// <summary>Memory limit: bytes, PowerShell's 64MB or Docker's 64m, 1g.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [SizeTransformation]
    public long? Memory { get; set; }

    /// <summary>Memory plus swap, as a size like -Memory; -1 for unlimited swap.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [SizeTransformation(AllowUnlimited = true)]
    public long? MemorySwap { get; set; }

    /// <summary>CPUs the container may use (1.5 = one and a half CPUs of time).</summary>
    [Parameter(ParameterSetName = RunSet)]
    public double? Cpus { get; set; }

    /// <summary>Relative CPU weight (docker's --cpu-shares).</summary>
    [Parameter(ParameterSetName = RunSet)]
    public long? CpuShares { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    public long? PidsLimit { get; set; }

    /// <summary>Bind mounts and volumes: /host/path:/container/path[:ro], name:/container/path[:ro] (a named volume, made on
    /// first use), /container/path (an anonymous volume).</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string[]? Volume { get; set; }

    /// <summary>tmpfs mounts: /container/path[:options].</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string[]? Tmpfs { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    public SwitchParameter ReadOnly { get; set; }

    /// <summary>bridge (the default network), a network made with New-ContainerNetwork, none (loopback only), host,
    /// or container:NAME (share another container's network namespace). Several bridge or user-defined networks
    /// join the container to each (docker run --network a --network b); name=NET,alias=A,ip=ADDR gives one its own
    /// aliases and address.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[] Network { get; set; } = ["bridge"];

    /// <summary>A static IPv4 address on the network.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [Alias("Ip")]
    public string? IPAddress { get; set; }

    /// <summary>More names the container answers to on its network.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string[]? NetworkAlias { get; set; }

    /// <summary>Published ports: [hostIp:][hostPort:]containerPort[/tcp|udp] (a random host port when omitted).</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string[]? Publish { get; set; }

    /// <summary>Publish every port the image exposes on a random host port (docker run -P).</summary>
    [Parameter(ParameterSetName = RunSet)]
    public SwitchParameter PublishAll { get; set; }

    /// <summary>Name servers for the container's /etc/resolv.conf.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [Alias("Dns")]
    public string[]? DnsServer { get; set; }

    /// <summary>name:ip entries added to the container's /etc/hosts.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string[]? AddHost { get; set; }

    /// <summary>psc (the built-in runtime) or runc, or the path of an OCI runtime.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [ValidateNotNullOrEmpty]
    public string Runtime { get; set; } = "psc";

    /// <summary>Remove the container when it exits (docker run --rm).</summary>
    [Parameter(ParameterSetName = RunSet)]
    [Alias("Rm")]
    public SwitchParameter AutoRemove { get; set; }

    /// <summary>When to pull the image from its registry: missing (the default, as docker), always, or never.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [ValidateSet("missing", "always", "never")]
    public string Pull { get; set; } = "missing";

    /// <summary>For a pull: the platform (os/arch[/variant]) to take from a multi-platform image.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string? Platform { get; set; }

    /// <summary>
    /// Makes sure the image is in the store before a container is made from it, pulling it as -Pull says (with
    /// progress). Engine errors propagate; the caller reports them. A missing image whose pull fails is reported
    /// with both facts (ImageNotFound: not here, and why the pull failed), as docker run does.
    /// </summary>
    protected void EnsureImage()
    {
        bool have = Engine.Images.Find(Image) is not null;
        if (Pull == "never" || (Pull == "missing" && have)) return;
        if (!have) WriteVerbose($"Unable to find image '{Image}' locally; pulling it.");
        try
        {
            RunWithProgress((progress, cancel) =>
                new ImagePuller(Engine.Images).Pull(Image, new PullOptions { Platform = Platform }, progress, cancel));
        }
        catch (EngineException e) when (!have)
        {
            throw ImagePuller.NotFoundLocallyAndNotPulled(Image, e);
        }
    }

    protected ContainerOptions BuildOptions()
    {
        var options = WithSecurity(NewOptions());
        options.SetNetworks(Network);
        AddIsolationOptions(options);
        AddStopOptions(options);
        AddVolumesFromOptions(options);
        AddHealthOptions(options);
        AddRestartOptions(options);
        AddTerminalOptions(options);
        return options;
    }

    private ContainerOptions NewOptions() => new()
    {
        Image = Image,
        Name = NewContainerName,
        Command = Command,
        Entrypoint = Entrypoint,
        Environment = ToDictionary(Environment),
        WorkingDirectory = WorkingDirectory,
        User = User,
        GroupAdd = (GroupAdd ?? []).ToList(),
        Hostname = Hostname,
        Labels = ToDictionary(Label),
        Memory = Memory,
        MemorySwap = MemorySwap,
        Cpus = Cpus,
        CpuShares = CpuShares,
        PidsLimit = PidsLimit,
        Volumes = (Volume ?? []).Select(ResolveVolume).ToList(),
        Tmpfs = (Tmpfs ?? []).ToList(),
        Mounts = (Mount ?? []).ToList(),
        ReadOnly = ReadOnly,
        IPAddress = IPAddress,
        NetworkAliases = (NetworkAlias ?? []).ToList(),
        Publish = (Publish ?? []).ToList(),
        PublishAll = PublishAll,
        DnsServers = (DnsServer ?? []).ToList(),
        AddHosts = (AddHost ?? []).ToList(),
        Runtime = Runtime,
        AutoRemove = AutoRemove,
        UserNamespace = UserNamespace,
    };

    /// <summary>
    /// A relative host path in -Volume (./data, ../x, sub/dir, ~/x) is relative to PowerShell's current location, not
    /// the process's. A bare name (data:/data) is left for the engine: docker reads it as a named volume.
    /// </summary>
    private string ResolveVolume(string volume)
    {
        int colon = volume.IndexOf(':');
        if (colon <= 0 || volume.StartsWith('/')) return volume;
        string host = volume[..colon];
        bool looksLikePath = host.Contains('/') || host is "." or ".." || host.StartsWith('~');
        if (!looksLikePath) return volume;
        string resolved;
        ProviderInfo provider;
        try
        {
            resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(host, out provider, out _);
        }
        catch (Exception e) when (e is RuntimeException or NotSupportedException or ArgumentException)
        {
            throw new EngineException("InvalidVolume", ErrorKind.InvalidArgument, volume, $"'{host}' in -Volume '{volume}' is not a path here: {e.Message}");
        }
        // From Env: or HKLM: a relative path names no directory on the host.
        if (provider.Name != "FileSystem")
            throw new EngineException("InvalidVolume", ErrorKind.InvalidArgument, volume,
                $"'{host}' in -Volume '{volume}' is not a file system path: the current location is {SessionState.Path.CurrentLocation} ({provider.Name}); give an absolute path.");
        return resolved + volume[colon..];
    }

    private static Dictionary<string, string> ToDictionary(Hashtable? table) =>
        table?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? "", StringComparer.Ordinal) ?? new();
}
