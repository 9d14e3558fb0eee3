namespace PSContainer.Engine.Containers;

/// <summary>Result of one runtime command.</summary>
public sealed record RuntimeResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Drives an OCI runtime through runc's command line (create/start/state/kill/delete). Ours and runc are driven
/// the same way, which keeps our runtime honest: it has to be a real OCI runtime.
/// </summary>
public sealed class RuntimeClient
{
    public RuntimeClient(string name, string binary, string root, bool bundled = false)
    {
        Name = name;
        Binary = binary;
        Root = root;
        Bundled = bundled;
    }

    /// <summary>The module's own psc-runtime (not a -Runtime path that happens to be named so, which may be a
    /// script): only it runs from a sealed copy.</summary>
    public bool Bundled { get; }

    public string Name { get; }
    public string Binary { get; }
    /// <summary>The runtime's --root: its per-container state.</summary>
    public string Root { get; }

    /// <summary>
    /// What to execute for a command of ours: psc-runtime from the session's sealed copy of it (it would otherwise
    /// re-execute itself into one for exec), any other runtime from its file.
    /// </summary>
    public string ExecPath => Bundled ? PSContainer.Native.SealedExecutable.PathOf(Binary) ?? Binary : Binary;

    public RuntimeResult Run(TimeSpan timeout, params string[] args)
    {
        var argv = new List<string> { Binary, "--root", Root };
        argv.AddRange(args);
        try
        {
            var (code, stdout, stderr) = PSContainer.Native.ProcessSpawner.Run(ExecPath, argv, Environment, timeout);
            return new RuntimeResult(code, stdout, stderr.Trim());
        }
        catch (PSContainer.Native.NativeException e) when (e.Errno == 110)
        {
            throw new EngineException("RuntimeTimeout", ErrorKind.OperationStopped, Binary, $"{Name} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0} s.", e);
        }
        catch (PSContainer.Native.NativeException e)
        {
            throw new EngineException("RuntimeFailed", ErrorKind.ResourceUnavailable, Binary, $"Cannot run {Binary}: {e.Message}", e);
        }
    }

    private static readonly IReadOnlyDictionary<string, string> Environment = new Dictionary<string, string>
    {
        ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    };

    public RuntimeResult Start(string id) => Run(TimeSpan.FromSeconds(30), "start", id);
    public RuntimeResult Kill(string id, string signal, bool all = false) =>
        all ? Run(TimeSpan.FromSeconds(30), "kill", "--all", id, signal) : Run(TimeSpan.FromSeconds(30), "kill", id, signal);
    public RuntimeResult Delete(string id, bool force) =>
        force ? Run(TimeSpan.FromSeconds(60), "delete", "--force", id) : Run(TimeSpan.FromSeconds(60), "delete", id);

}
