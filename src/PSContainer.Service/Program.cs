using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Storage;

namespace PSContainer.Service;

/// <summary>
/// psc-service: what must happen without any session.
///   container-exited --root R --runroot RR --id ID [--env K=V]...   the container monitor's exit command
///   boot --root R --runroot RR [--env K=V]...                       the systemd unit's step after a reboot
/// The monitor's environment carries only PATH, so the session's PSCONTAINER_* settings come as --env. Its standard
/// streams are /dev/null: what it did (other than a plain exit) goes to RR/psc-service.log.
/// </summary>
public static class Program
{
    private const string Usage =
        "usage: psc-service container-exited --root DIR --runroot DIR --id ID [--env KEY=VALUE]...\n" +
        "       psc-service boot --root DIR --runroot DIR [--env KEY=VALUE]...\n";

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("container-exited" or "boot"))
        {
            Console.Error.Write(Usage);
            return 2;
        }
        string verb = args[0];
        string? root = null, runRoot = null, id = null;
        for (int i = 1; i < args.Length; i++)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            if (value is null || args[i] is not ("--root" or "--runroot" or "--id" or "--env"))
            {
                Console.Error.Write($"psc-service: unexpected argument '{args[i]}'\n{Usage}");
                return 2;
            }
            i++;
            switch (args[i - 1])
            {
                case "--root": root = value; break;
                case "--runroot": runRoot = value; break;
                case "--id": id = value; break;
                default:
                    int eq = value.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0 || !value.StartsWith("PSCONTAINER_", StringComparison.Ordinal))
                    {
                        Console.Error.Write($"psc-service: --env {value}: only PSCONTAINER_*=VALUE settings are taken\n");
                        return 2;
                    }
                    Environment.SetEnvironmentVariable(value[..eq], value[(eq + 1)..]);
                    break;
            }
        }
        if (root is null || runRoot is null || (verb == "container-exited" && string.IsNullOrEmpty(id)))
        {
            Console.Error.Write($"psc-service: --root, --runroot{(verb == "boot" ? "" : " and --id")} are required\n{Usage}");
            return 2;
        }
        // A root deleted under its containers (a test's private root, removed while an exit command was on its way)
        // is not made again by opening it; nor is a container's directory.
        if (!File.Exists(Path.Combine(root, "state.db"))
            || (verb == "container-exited" && !Directory.Exists(Path.Combine(root, "containers", id!))))
            return 0;
        Environment.SetEnvironmentVariable(StatePaths.RootVariable, root);
        Environment.SetEnvironmentVariable(StatePaths.RunRootVariable, runRoot);
        string log = Path.Combine(Path.GetFullPath(runRoot), "psc-service.log");
        try
        {
            var containers = ContainerEngine.ForEnvironment().Containers;
            if (verb == "boot")
            {
                foreach (string item in containers.Repair()) Log(log, $"boot: removed {item}");
                foreach (string item in containers.StartRestartable(boot: true))
                {
                    Log(log, "boot: " + item);
                    Console.WriteLine(item);
                }
                return 0;
            }
            string outcome = containers.ContainerExited(id!);
            // Plain exits are the common case: only what changed a container's course is written down.
            if (outcome.StartsWith("restart", StringComparison.Ordinal) || outcome.StartsWith("removed on exit", StringComparison.Ordinal))
                Log(log, $"{id![..Math.Min(12, id!.Length)]}: {outcome}");
            return 0;
        }
        catch (EngineException e) when (e.ErrorId == "ContainerNotFound")
        {
            return 0;
        }
        catch (Exception e)
        {
            Log(log, $"{verb} {id}: {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine($"psc-service: {e.Message}");
            return 1;
        }
    }

    private static void Log(string path, string text)
    {
        try
        {
            if (Directory.Exists(Path.GetDirectoryName(path))) File.AppendAllText(path, ContainerManager.LogLine(text));
        }
        catch (IOException)
        {
        }
    }
}
