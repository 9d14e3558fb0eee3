using System.Diagnostics;
using System.Text.Json;
using Xunit;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
// Each test starts its own server on its own state root and the SDKs keep process-wide settings: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace PSContainer.ClientTests;

/// <summary>What the server's root held when it was torn down.</summary>
public sealed record TearDownReport(string[] ContainersLeft, bool ServerAlive, string[] Leaks);

/// <summary>
/// psc-api on a private state root with a busybox image (clienttest/busybox:1) and one stopped container made through
/// the engine (engine-made), set up and torn down by Support/client-fixture.ps1 with the Pester suites' helpers, so the
/// SDK tests clean the host exactly as the API suites do. <see cref="TearDown"/> says what the clients left behind.
/// </summary>
public sealed class ClientTestServer : IDisposable
{
    public const string Image = "clienttest/busybox:1";
    public const string EngineMade = "engine-made";

    private readonly string stateJson;
    private bool tornDown;

    private ClientTestServer(string stateJson)
    {
        this.stateJson = stateJson;
        using var doc = JsonDocument.Parse(stateJson);
        var s = doc.RootElement;
        Root = s.GetProperty("Root").GetString()!;
        RunRoot = s.GetProperty("RunRoot").GetString()!;
        CgroupParent = s.GetProperty("CgroupParent").GetString()!;
        Socket = s.GetProperty("Socket").GetString()!;
        DockerHost = s.GetProperty("DockerHost").GetString()!;
        LogPath = s.GetProperty("LogPath").GetString()!;
    }

    public string Root { get; }
    public string RunRoot { get; }
    public string CgroupParent { get; }
    public string Socket { get; }
    /// <summary>unix:///…/client.sock, what DOCKER_HOST is set to.</summary>
    public string DockerHost { get; }
    public string LogPath { get; }

    /// <summary>The repository checkout these tests run from (the directory holding PSContainer.sln).</summary>
    public static string Repo
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "PSContainer.sln"))) return d.FullName;
            throw new InvalidOperationException("PSContainer.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Why the server cannot run here (the test skips with it), or null.</summary>
    public static string? SkipReason()
    {
        if (Environment.UserName != "root") return "the engine needs root (namespaces, cgroups, overlayfs)";
        if (!File.Exists(Path.Combine(Repo, "out/PSContainer/native/psc-runtime"))) return "psc-runtime is not built (run ./build.ps1 build)";
        if (!File.Exists(Path.Combine(Repo, "out/PSContainer/psc-api.dll"))) return "psc-api is not built (run ./build.ps1 build)";
        if (!File.Exists("/bin/busybox")) return "no /bin/busybox (Debian package busybox-static) for the fixture image";
        return null;
    }

    /// <summary>Starts a server (skipping the test when it cannot run here).</summary>
    public static ClientTestServer StartOrSkip()
    {
        string? reason = SkipReason();
        Skip.If(reason is not null, reason);
        return new ClientTestServer(RunFixture("setup", null, TimeSpan.FromMinutes(4)));
    }

    /// <summary>Points this process's engine (ContainerEngine.ForEnvironment) at the server's state root.</summary>
    public void UseStateRootInThisProcess()
    {
        Environment.SetEnvironmentVariable("PSCONTAINER_ROOT", Root);
        Environment.SetEnvironmentVariable("PSCONTAINER_RUNROOT", RunRoot);
        Environment.SetEnvironmentVariable("PSCONTAINER_CGROUP_PARENT", CgroupParent);
    }

    /// <summary>Stops the server and removes its root; says which containers the clients left, whether the server
    /// outlived its stop, and any mount, cgroup, monitor, netns, bridge or directory of the root still there.</summary>
    public TearDownReport TearDown()
    {
        tornDown = true;
        string json = RunFixture("teardown", stateJson, TimeSpan.FromMinutes(3));
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        static string[] Strings(JsonElement e) => e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(x => x.ToString()).ToArray() : [];
        return new TearDownReport(Strings(r.GetProperty("ContainersLeft")), r.GetProperty("ServerAlive").GetBoolean(), Strings(r.GetProperty("Leaks")));
    }

    public void Dispose()
    {
        if (!tornDown) TearDown();
    }

    private static string RunFixture(string mode, string? state, TimeSpan timeout)
    {
        // dotnet pwsh: the repository's tool manifest (dotnet tool restore) provides PowerShell.
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = Repo, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", Path.Combine(Repo, "tests/PSContainer.ClientTests/Support/client-fixture.ps1"), "-Mode", mode, "-Repo", Repo })
            psi.ArgumentList.Add(a);
        if (state is not null) { psi.ArgumentList.Add("-State"); psi.ArgumentList.Add(state); }
        // The fixture makes its own root; nothing of this process's may steer it elsewhere.
        foreach (string v in new[] { "PSCONTAINER_ROOT", "PSCONTAINER_RUNROOT", "PSCONTAINER_CGROUP_PARENT", "DOCKER_HOST" }) psi.Environment.Remove(v);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"client-fixture.ps1 {mode} did not finish within {timeout.TotalSeconds} s: {stderr.Result}");
        }
        p.WaitForExit();
        string last = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
        if (p.ExitCode != 0 || !last.StartsWith('{'))
            throw new InvalidOperationException($"client-fixture.ps1 {mode} failed ({p.ExitCode}): {stdout.Result}\n{stderr.Result}");
        return last;
    }
}
