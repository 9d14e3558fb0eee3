using System.Globalization;
using System.Net;
using System.Text;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Networks;

/// <summary>
/// The one resolver (psc-dns, C, src/PSContainer.Native/native/dns) of a state root. It serves every user-defined
/// network that has a running container, each on its gateway's port 53, from a config directory in the run root: one
/// file per network (its listen address and its records), written by rename and watched by psc-dns with inotify.
/// The engine writes a network's file, starts psc-dns if it is not running, and waits until the gateway's port is
/// bound before the container starts; the file goes when the network has no running container left, and psc-dns
/// goes with the last file (it also exits by itself when its directory is removed). psc-dns runs as nobody keeping
/// only CAP_NET_BIND_SERVICE, so that it can bind networks made after it started. Its pid and start time live in
/// dns.pid in the run root; every call is made under the network lock.
/// </summary>
internal sealed class DnsResolver
{
    /// <summary>How long a network's address may take to be bound (or released) by psc-dns.</summary>
    private static readonly TimeSpan BindTimeout = TimeSpan.FromSeconds(5);
    private readonly StatePaths paths;
    private readonly NetworkStore store;

    public DnsResolver(StatePaths paths, NetworkStore store)
    {
        this.paths = paths;
        this.store = store;
    }

    /// <summary>psc-dns next to the engine's assembly (PSCONTAINER_DNS_BINARY overrides it), or null if it is not there.</summary>
    public static string? Binary
    {
        get
        {
            string path = Environment.GetEnvironmentVariable("PSCONTAINER_DNS_BINARY") is { Length: > 0 } p
                ? p
                : Path.Combine(Path.GetDirectoryName(typeof(DnsResolver).Assembly.Location)!, "psc-dns");
            return File.Exists(path) ? path : null;
        }
    }

    public string ConfigDir => Path.Combine(paths.RunRoot, "dns");
    private string PidFile => Path.Combine(paths.RunRoot, "dns.pid");
    private string ReadyFile => Path.Combine(paths.RunRoot, "dns.ready");
    private string FileOf(string networkId) => Path.Combine(ConfigDir, networkId);

    /// <summary>A network's file: the address psc-dns listens on for it, then its records (hosts format).</summary>
    public static string Config(NetworkRecord n, IEnumerable<NetworkEndpoint> active) =>
        $"# psc-dns: network {n.Name}\nlisten {n.Gateway}\n" + NetworkManager.Records(active);

    /// <summary>Writes the network's file and makes sure psc-dns serves it while a container on it runs; else takes it away.</summary>
    public void Refresh(NetworkRecord n)
    {
        if (!n.DnsEnabled || Binary is null) return;
        var active = store.EndpointsOn(n.Id).Where(e => e.Active).ToList();
        if (active.Count == 0)
        {
            Remove(n);
            return;
        }
        // psc-dns reads the files as nobody through the directory it opened as root: the directory must be
        // searchable by others whatever the session's umask (027 on hardened hosts), the files readable (AtomicFile).
        Directory.CreateDirectory(ConfigDir);
        File.SetUnixFileMode(ConfigDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        // Written by rename from the run root (same file system): psc-dns sees a whole file or none.
        AtomicFile.Write(FileOf(n.Id), Encoding.UTF8.GetBytes(Config(n, active)), paths.RunRoot);
        EnsureRunning(n);
        WaitBound(n, bound: true);
    }

    /// <summary>Takes a network out of psc-dns (its file goes, its address is released); psc-dns stops with the last one.</summary>
    public void Remove(NetworkRecord n)
    {
        string file = FileOf(n.Id);
        bool had = File.Exists(file);
        if (had) File.Delete(file);
        if (!Directory.Exists(ConfigDir) || !Directory.EnumerateFileSystemEntries(ConfigDir).Any())
        {
            Stop();
            return;
        }
        // Released before returning: a network made next with the same gateway must find the port free.
        if (had && IsRunning(out _)) WaitBound(n, bound: false);
    }

    private bool IsRunning(out int pid)
    {
        var (p, start) = ReadPidFile();
        pid = p;
        return ProcessInfo.IsAlive(p, start);
    }

    private (int Pid, long Start) ReadPidFile()
    {
        try
        {
            string[] f = File.ReadAllText(PidFile).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (f.Length == 2 && int.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out long start))
                return (pid, start);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
        }
        return (0, 0);
    }

    private void EnsureRunning(NetworkRecord n)
    {
        if (IsRunning(out _)) return;
        // One resolver per state root: one whose record was lost (a session killed between its start and dns.pid)
        // goes before another takes the ports.
        KillOthers(0);
        File.Delete(ReadyFile);
        var env = new Dictionary<string, string> { ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
        string setsid = File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : "/bin/setsid";
        var args = new List<string> { setsid, "-f", Binary!, "--config-dir", ConfigDir, "--ready-file", ReadyFile, "--resolv-conf", "/etc/resolv.conf" };
        int launcher = ProcessSpawner.Spawn(setsid, args, env, new Dictionary<int, int>());
        ProcessSpawner.Wait(launcher);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        string text = "";
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(ReadyFile) && (text = File.ReadAllText(ReadyFile)).EndsWith('\n')) break;
            Thread.Sleep(2);
        }
        if (!text.StartsWith("ok ", StringComparison.Ordinal) || !int.TryParse(text[3..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            throw new EngineException("DnsStartFailed", ErrorKind.InvalidOperation, n.Name,
                $"The DNS server of network '{n.Name}' did not start: {(text.Length > 0 ? text.Trim() : "no report within 10 s")}");
        AtomicFile.Write(PidFile, Encoding.ASCII.GetBytes($"{pid} {ProcessInfo.StartTime(pid)}\n"), paths.RunRoot);
    }

    /// <summary>Waits until the network's gateway:53 is (or is no longer) bound, as /proc/net/udp of this namespace shows it.</summary>
    private static void WaitBound(NetworkRecord n, bool bound)
    {
        // /proc/net/udp prints the address as the hex of its 32 bits in host (little-endian) order, the port in hex.
        byte[] a = IPAddress.Parse(n.Gateway).GetAddressBytes();
        string local = $"{BitConverter.ToUInt32(a):X8}:0035";
        var deadline = DateTime.UtcNow + BindTimeout;
        while (true)
        {
            if (IsBound(local) == bound) return;
            if (DateTime.UtcNow > deadline) break;
            Thread.Sleep(1);
        }
        if (bound)
            throw new EngineException("DnsStartFailed", ErrorKind.InvalidOperation, n.Name,
                $"The DNS server did not listen on {n.Gateway}:53 for network '{n.Name}' within {BindTimeout.TotalSeconds} s (is another server bound to that port?).");
    }

    private static bool IsBound(string local)
    {
        foreach (string line in File.ReadLines("/proc/net/udp").Skip(1))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length > 1 && f[1] == local) return true;
        }
        return false;
    }

    /// <summary>Stops psc-dns: its directory goes (which alone ends it), then SIGTERM and, if need be, SIGKILL.</summary>
    public void Stop()
    {
        var (pid, start) = ReadPidFile();
        if (Directory.Exists(ConfigDir)) Directory.Delete(ConfigDir, recursive: true);
        Kill(pid, start);
        KillOthers(0);
        File.Delete(PidFile);
        File.Delete(ReadyFile);
    }

    private static void Kill(int pid, long start)
    {
        if (!ProcessInfo.IsAlive(pid, start)) return;
        ProcessSignal.TrySend(pid, ProcessSignal.SIGTERM);
        for (int i = 0; i < 200 && ProcessInfo.IsAlive(pid, start); i++) Thread.Sleep(5);
        if (ProcessInfo.IsAlive(pid, start)) ProcessSignal.TrySend(pid, ProcessSignal.SIGKILL);
        for (int i = 0; i < 200 && ProcessInfo.IsAlive(pid, start); i++) Thread.Sleep(5);
    }

    /// <summary>Kills every psc-dns serving this root's config directory but <paramref name="keep"/>; returns their pids.</summary>
    private List<int> KillOthers(int keep)
    {
        var killed = new List<int>();
        foreach (var (pid, args) in ProcessTable.CommandLines())
        {
            if (pid == keep) continue;
            if (args.Length < 3 || Path.GetFileName(args[0]) != "psc-dns") continue;
            int i = Array.IndexOf(args, "--config-dir");
            if (i < 0 || i + 1 >= args.Length || args[i + 1] != ConfigDir) continue;
            Kill(pid, ProcessInfo.StartTime(pid));
            killed.Add(pid);
        }
        return killed;
    }

    /// <summary>
    /// After a killed session: files of networks that no longer need names go, a psc-dns nobody recorded is killed,
    /// a dead one is forgotten and started again if a network still needs it, and none is left when none is needed.
    /// Also stops a per-network psc-dns recorded by an engine from before the shared resolver. Returns what it did.
    /// </summary>
    public List<string> Repair()
    {
        var done = new List<string>();
        var networks = store.All();
        foreach (var n in networks.Where(n => n.DnsPid != 0))
        {
            if (ProcessInfo.IsAlive(n.DnsPid, n.DnsStart))
            {
                Kill(n.DnsPid, n.DnsStart);
                done.Add($"psc-dns {n.DnsPid}");
            }
            store.SetDns(n.Id, 0, 0);
        }
        var needed = networks.Where(n => n.DnsEnabled && store.EndpointsOn(n.Id).Any(e => e.Active)).ToList();
        if (Directory.Exists(ConfigDir))
        {
            foreach (string file in Directory.EnumerateFiles(ConfigDir))
            {
                if (needed.Any(n => n.Id == Path.GetFileName(file))) continue;
                File.Delete(file);
                done.Add($"dns records {Path.GetFileName(file)[..Math.Min(12, Path.GetFileName(file).Length)]}");
            }
        }
        bool running = IsRunning(out int pid);
        if (needed.Count == 0 || Binary is null)
        {
            if (running || Directory.Exists(ConfigDir) || File.Exists(PidFile)) Stop();
            if (running) done.Add($"psc-dns {pid}");
            return done;
        }
        foreach (int orphan in KillOthers(running ? pid : 0)) done.Add($"psc-dns {orphan}");
        if (!running) File.Delete(PidFile);
        foreach (var n in needed.Where(n => !running || !File.Exists(FileOf(n.Id)))) Refresh(n);
        if (!running && IsRunning(out int started)) done.Add($"psc-dns restarted ({started})");
        return done;
    }
}
