using System.Globalization;
using System.Text.Json.Nodes;

namespace PSContainer.Engine.Images;

public static partial class CommitChanges
{
    /// <summary>
    /// HEALTHCHECK NONE, or HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D] [--retries=N]
    /// CMD command (shell form: CMD-SHELL) or CMD ["exe", "arg"] (exec form: CMD), as a Dockerfile writes it; durations
    /// in docker's form (30s, 500ms), stored in nanoseconds as docker's image config holds them.
    /// </summary>
    private static JsonObject Healthcheck(string rest, string change)
    {
        var health = new JsonObject();
        int i = 0;
        while (true)
        {
            while (i < rest.Length && char.IsWhiteSpace(rest[i])) i++;
            if (!rest.AsSpan(i).StartsWith("--")) break;
            int end = i;
            while (end < rest.Length && !char.IsWhiteSpace(rest[end])) end++;
            string flag = rest[i..end];
            i = end;
            int eq = flag.IndexOf('=');
            if (eq < 0) throw Invalid(change, $"HEALTHCHECK option '{flag}' needs a value: {flag}=VALUE.");
            string name = flag[2..eq], value = flag[(eq + 1)..];
            switch (name)
            {
                case "interval" or "timeout" or "start-period" or "start-interval":
                    if (!Duration.TryParse(value, out var d, out string? error)) throw Invalid(change, $"--{name}: {error}");
                    if (d < TimeSpan.Zero) throw Invalid(change, $"--{name} cannot be negative.");
                    if (d > TimeSpan.Zero && d < TimeSpan.FromMilliseconds(1)) throw Invalid(change, $"--{name} cannot be less than 1ms.");
                    string key = name switch { "interval" => "Interval", "timeout" => "Timeout", "start-period" => "StartPeriod", _ => "StartInterval" };
                    health[key] = d.Ticks * Oci.HealthConfig.NanosecondsPerTick;
                    break;
                case "retries":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int retries))
                        throw Invalid(change, $"--retries={value} is not a number of retries (0 or more).");
                    health["Retries"] = retries;
                    break;
                default:
                    throw Invalid(change, $"'--{name}' is not a HEALTHCHECK option (interval, timeout, start-period, start-interval, retries).");
            }
        }
        string body = rest[i..].Trim();
        int space = body.IndexOfAny([' ', '\t']);
        string kind = (space < 0 ? body : body[..space]).ToUpperInvariant();
        string command = space < 0 ? "" : body[(space + 1)..].Trim();
        if (kind == "NONE")
        {
            if (health.Count > 0 || command.Length > 0) throw Invalid(change, "HEALTHCHECK NONE takes no options or command.");
            return new JsonObject { ["Test"] = ToArray(["NONE"]) };
        }
        if (kind != "CMD") throw Invalid(change, "HEALTHCHECK needs CMD command (or NONE).");
        if (command.Length == 0) throw Invalid(change, "HEALTHCHECK CMD needs a command.");
        List<string> test = command.StartsWith('[') ? ["CMD", .. JsonForm(command, change)] : ["CMD-SHELL", command];
        if (test.Count < 2) throw Invalid(change, "HEALTHCHECK CMD needs a command.");
        var result = new JsonObject { ["Test"] = ToArray(test) };
        foreach (var (k, v) in health.ToList())
        {
            health.Remove(k);
            result[k] = v;
        }
        return result;
    }
}
