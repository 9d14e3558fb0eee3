using System.Management.Automation;
using PSContainer.Engine;

namespace PSContainer.Host;

/// <summary>Runs the crash-recovery pass when the module is imported, so a killed session's leftovers go early.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    public void OnImport()
    {
        try
        {
            // Only for a root that already has state: importing the module must not create one.
            var paths = Engine.Storage.StatePaths.FromEnvironment();
            if (!File.Exists(paths.Database) || Tmds.Linux.LibC.geteuid() != 0) return;
            ContainerEngine.ForEnvironment().Containers.Repair(rewriteFirewall: false);
        }
        catch (Exception)
        {
            // Never fail an import over clean-up: Repair-ContainerState reports problems.
        }
    }
}
