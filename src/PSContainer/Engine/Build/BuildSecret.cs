namespace PSContainer.Engine.Build;

/// <summary>
/// A build secret as docker build --secret writes it: "id=ID,src=PATH" (source= too; type=file is the only type),
/// or "id=ID" alone, whose file is ./ID as BuildKit takes it. Relative paths are left to the caller to resolve.
/// </summary>
public static class BuildSecret
{
    public static (string Id, string Path) Parse(string text)
    {
        string? id = null, path = null;
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            string key = eq < 0 ? part : part[..eq], value = eq < 0 ? "" : part[(eq + 1)..];
            switch (key.ToLowerInvariant())
            {
                case "id": id = value; break;
                case "src" or "source": path = value; break;
                case "type" when value == "file": break;
                default:
                    throw new EngineException("InvalidSecret", ErrorKind.InvalidArgument, text,
                        $"'{text}' is not a secret: write id=ID,src=PATH (file secrets only; '{key}' is not supported).");
            }
        }
        if (string.IsNullOrEmpty(id) || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            throw new EngineException("InvalidSecret", ErrorKind.InvalidArgument, text, $"'{text}' needs id=ID (letters, digits, '_', '-', '.').");
        return (id, string.IsNullOrEmpty(path) ? id : path);
    }

    /// <summary>Checks an id given in a hashtable (@{ id = path }) the same way.</summary>
    public static string CheckId(string id) =>
        id.Length > 0 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') ? id
            : throw new EngineException("InvalidSecret", ErrorKind.InvalidArgument, id, $"'{id}' is not a secret id (letters, digits, '_', '-', '.').");
}
