using System.Management.Automation;
using PSContainer.Engine;

namespace PSContainer.Host;

/// <summary>
/// On import: gives the module's own executables back their execute bit, then runs the crash-recovery pass so a
/// killed session's leftovers go early.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    /// <summary>The executables the module ships, relative to its folder (build.ps1 lays them out so).</summary>
    private static readonly string[] Executables = ["native/psc-runtime", "native/psc-monitor", "psc-dns", "psc-api"];

    public void OnImport()
    {
        RestoreExecuteBits(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!);
        try
        {
            // Only for a root that already has state: importing the module must not create one.
            var paths = Engine.Storage.StatePaths.FromEnvironment();
            if (!File.Exists(paths.Database) || !PSContainer.Native.ProcessIdentity.IsRoot) return;
            ContainerEngine.ForEnvironment().Containers.Repair(rewriteFirewall: false, settle: TimeSpan.Zero);
        }
        catch (Exception)
        {
            // Never fail an import over clean-up: Repair-ContainerState reports problems.
        }
    }

    /// <summary>
    /// A .nupkg is a zip whose entries carry no Unix modes, so Install-PSResource (and Save-PSResource, or any unzip)
    /// lays the native binaries down as 0644 and every container would then fail with EACCES. Adds x wherever r is
    /// set, only to a file with no execute bit at all, so modes an administrator chose are left alone.
    /// </summary>
    internal static void RestoreExecuteBits(string moduleDirectory)
    {
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        foreach (string relative in Executables)
        {
            string path = Path.Combine(moduleDirectory, relative);
            if (!File.Exists(path)) continue;   // a partial build: the cmdlets that need it say so
            var mode = File.GetUnixFileMode(path);
            if ((mode & anyExecute) != 0) continue;
            if (mode.HasFlag(UnixFileMode.UserRead)) mode |= UnixFileMode.UserExecute;
            if (mode.HasFlag(UnixFileMode.GroupRead)) mode |= UnixFileMode.GroupExecute;
            if (mode.HasFlag(UnixFileMode.OtherRead)) mode |= UnixFileMode.OtherExecute;
            try
            {
                File.SetUnixFileMode(path, mode);
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                // Failing the import is the clear way: with the bit missing, every container fails later with a
                // bare "permission denied" from exec.
                throw new InvalidOperationException(
                    $"PSContainer cannot make '{path}' executable ({e.Message}). The package format does not keep " +
                    $"execute bits, and the module restores them on import when it may. Run 'chmod a+x {path}' as the " +
                    "file's owner (or import the module once as that user), then import it again.", e);
            }
        }
    }
}
