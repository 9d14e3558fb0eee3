using System.Text;
using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Service;

/// <summary>What Install-ContainerService did: the unit file, and whether systemd was told to start it at boot.</summary>
public sealed record BootServiceResult(string UnitPath, bool Enabled, string? Note);

/// <summary>
/// The systemd unit that starts restart-policy containers after a reboot (docker's daemon start does this for
/// docker): a oneshot running `psc-service boot` for one state root. Enabled through systemctl only where systemd is
/// the init and the unit goes to the system directory; elsewhere the file is written and the caller says so.
/// </summary>
public static class BootService
{
    public const string SystemUnitDirectory = "/etc/systemd/system";

    /// <summary>pscontainer.service for the default root; pscontainer-&lt;hash&gt;.service for any other, so roots never share a unit.</summary>
    public static string UnitName(string root)
    {
        root = Path.GetFullPath(root);
        if (root == Storage.StatePaths.DefaultRoot) return "pscontainer.service";
        string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(root)))[..12];
        return $"pscontainer-{hash}.service";
    }

    public static string UnitText(IReadOnlyList<string> command, string root) => $"""
        # Written by Install-ContainerService (PSContainer): starts containers with a restart policy after a reboot.
        [Unit]
        Description=PSContainer: start restart-policy containers of {root}
        Wants=network-online.target
        After=network-online.target local-fs.target

        [Service]
        Type=oneshot
        ExecStart={string.Join(' ', command.Select(Quote))}

        [Install]
        WantedBy=multi-user.target

        """.ReplaceLineEndings("\n");

    /// <summary>systemd's quoting of an ExecStart word: double quotes when it holds a space, a quote or a backslash.</summary>
    internal static string Quote(string word) =>
        word.Length > 0 && !word.Any(c => c is ' ' or '"' or '\'' or '\\' or '\t' or ';' or '$' or '%')
            ? word
            : "\"" + word.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
                .Replace("$", "$$", StringComparison.Ordinal).Replace("%", "%%", StringComparison.Ordinal) + "\"";

    /// <summary>Whether this host runs systemd as init (then systemctl can enable a unit).</summary>
    public static bool SystemdIsInit() =>
        File.Exists("/proc/1/comm") && File.ReadAllText("/proc/1/comm").Trim() == "systemd" && Directory.Exists("/run/systemd/system");

    public static BootServiceResult Install(string unitDirectory, string root, string runRoot)
    {
        if (ContainerManager.ServiceAssembly is null)
            throw new EngineException("ServiceNotInstalled", ErrorKind.NotInstalled, "psc-service.dll",
                "psc-service.dll is missing beside the module: rebuild the module.");
        return WriteUnit(unitDirectory, UnitName(root), UnitText(ContainerManager.ServiceCommand("boot", root, runRoot), Path.GetFullPath(root)));
    }

    /// <summary>Writes a unit file whole (never half of one), and enables it where systemd runs and the directory is the system one.</summary>
    internal static BootServiceResult WriteUnit(string unitDirectory, string name, string text)
    {
        string path = Path.Combine(Path.GetFullPath(unitDirectory), name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + ".tmp";
        try
        {
            File.WriteAllText(temp, text);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        if (!IsSystemDirectory(unitDirectory))
            return new BootServiceResult(path, false, $"The unit was written to {unitDirectory}, not {SystemUnitDirectory}: it is not enabled.");
        if (!SystemdIsInit())
            return new BootServiceResult(path, false, "systemd is not this host's init: the unit was written but not enabled.");
        Systemctl("enable", name);
        return new BootServiceResult(path, true, null);
    }

    /// <summary>Disables (where systemd manages it) and removes the unit; false when there was none.</summary>
    public static bool Uninstall(string unitDirectory, string root) => RemoveUnit(unitDirectory, UnitName(root));

    internal static bool RemoveUnit(string unitDirectory, string name)
    {
        string path = Path.Combine(Path.GetFullPath(unitDirectory), name);
        if (!File.Exists(path)) return false;
        if (IsSystemDirectory(unitDirectory) && SystemdIsInit()) Systemctl("disable", name);
        File.Delete(path);
        return true;
    }

    private static bool IsSystemDirectory(string dir) =>
        Path.GetFullPath(dir).TrimEnd('/') == SystemUnitDirectory;

    private static void Systemctl(string verb, string unit)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("systemctl") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { verb, unit }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)
                      ?? throw new EngineException("SystemctlFailed", ErrorKind.InvalidOperation, unit, "systemctl could not be started.");
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new EngineException("SystemctlFailed", ErrorKind.InvalidOperation, unit, $"systemctl {verb} {unit} failed: {err.Trim()}");
    }
}
