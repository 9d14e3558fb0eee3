using System.Diagnostics;

namespace PSContainer.Engine.Containers;

/// <summary>Result of one runtime command.</summary>
public sealed record RuntimeResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Drives an OCI runtime through runc's command line (create/start/state/kill/delete). Ours and runc are driven
/// the same way, which keeps our runtime honest: it has to be a real OCI runtime.
/// </summary>
public sealed class RuntimeClient
{
    public RuntimeClient(string name, string binary, string root)
    {
        Name = name;
        Binary = binary;
        Root = root;
    }

    public string Name { get; }
    public string Binary { get; }
    /// <summary>The runtime's --root: its per-container state.</summary>
    public string Root { get; }

    public RuntimeResult Run(TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--root");
        psi.ArgumentList.Add(Root);
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new EngineException("RuntimeFailed", ErrorKind.ResourceUnavailable, Binary, $"Cannot start {Binary}.");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            try { p.Kill(); } catch (InvalidOperationException) { }
            throw new EngineException("RuntimeTimeout", ErrorKind.OperationStopped, Binary, $"{Name} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0} s.");
        }
        p.WaitForExit();
        var result = new RuntimeResult(p.ExitCode, stdout.Result, stderr.Result.Trim());
        // Process.Dispose does not close redirected pipes whose readers were handed out; close them here.
        p.StandardOutput.Dispose();
        p.StandardError.Dispose();
        return result;
    }

    public RuntimeResult Start(string id) => Run(TimeSpan.FromSeconds(30), "start", id);
    public RuntimeResult Kill(string id, string signal, bool all = false) =>
        all ? Run(TimeSpan.FromSeconds(30), "kill", "--all", id, signal) : Run(TimeSpan.FromSeconds(30), "kill", id, signal);
    public RuntimeResult Delete(string id, bool force) =>
        force ? Run(TimeSpan.FromSeconds(60), "delete", "--force", id) : Run(TimeSpan.FromSeconds(60), "delete", id);
    public RuntimeResult State(string id) => Run(TimeSpan.FromSeconds(30), "state", id);

    /// <summary>Whether the runtime still has state for the container (its state command succeeds).</summary>
    public bool Knows(string id) => Directory.Exists(Path.Combine(Root, id)) && State(id).ExitCode == 0;
}
