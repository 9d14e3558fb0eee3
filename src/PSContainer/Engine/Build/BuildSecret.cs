namespace PSContainer.Engine.Build;

/// <summary>
/// A build secret as docker build --secret writes it: "id=ID,src=PATH" (source= too), "id=ID,env=NAME" (the value of
/// an environment variable, as BuildKit takes it), or "id=ID" alone, whose file is ./ID as BuildKit takes it.
/// Relative paths and the variable's value are left to the caller to resolve.
/// </summary>
public static class BuildSecret
{
    /// <summary>The id and either the file (Path) or the environment variable (Env) that holds the secret.</summary>
    public static (string Id, string? Path, string? Env) Parse(string text)
    {
        string? id = null, path = null, env = null;
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            string key = eq < 0 ? part : part[..eq], value = eq < 0 ? "" : part[(eq + 1)..];
            switch (key.ToLowerInvariant())
            {
                case "id": id = value; break;
                case "src" or "source": path = value; break;
                case "env": env = value; break;
                case "type" when value is "file" or "env": break;
                default:
                    throw new EngineException("InvalidSecret", ErrorKind.InvalidArgument, text,
                        $"'{text}' is not a secret: write id=ID,src=PATH or id=ID,env=NAME ('{key}' is not supported).");
            }
        }
        if (env is not null && (path is not null || env.Length == 0))
            throw new EngineException("InvalidSecret", ErrorKind.InvalidArgument, text,
                $"'{text}' is not a secret: env= names one environment variable, and a secret has either src= or env=, not both.");
        if (string.IsNullOrEmpty(id) || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            throw new EngineException("InvalidSecret", ErrorKind.InvalidArgument, text, $"'{text}' needs id=ID (letters, digits, '_', '-', '.').");
        return env is not null ? (id, null, env) : (id, string.IsNullOrEmpty(path) ? id : path, null);
    }

    /// <summary>Checks an id given in a hashtable (@{ id = path }) the same way.</summary>
    public static string CheckId(string id) =>
        id.Length > 0 && id is not "." and not ".." && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') ? id
            : throw new EngineException("InvalidSecret", ErrorKind.InvalidArgument, id, $"'{id}' is not a secret id (letters, digits, '_', '-', '.').");
}
