using System.Text.RegularExpressions;
using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Images;

/// <summary>
/// An image reference as docker understands it: [domain[:port]/]path[:tag][@digest]. A name with no domain is on
/// docker.io, and a one-component docker.io name is under library/ ("busybox" is docker.io/library/busybox).
/// </summary>
public sealed partial record ImageReference(string Domain, string Path, string? Tag, Digest? Digest)
{
    public const string DefaultDomain = "docker.io";
    public const string DefaultTag = "latest";

    /// <summary>domain/path, e.g. docker.io/library/busybox.</summary>
    public string Repository => Domain + "/" + Path;

    /// <summary>The repository as docker prints it: without docker.io/ and library/.</summary>
    public string FamiliarRepository =>
        Domain == DefaultDomain ? (Path.StartsWith("library/", StringComparison.Ordinal) && Path.IndexOf('/', 8) < 0 ? Path[8..] : Path) : Repository;

    public override string ToString() => Repository + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    public string FamiliarString => FamiliarRepository + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    public ImageReference WithTag(string tag) => this with { Tag = tag, Digest = null };

    // Grammar from the distribution reference package (the one docker uses), rewritten here as .NET regexes.
    [GeneratedRegex(@"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")]
    private static partial Regex PathComponent();

    [GeneratedRegex(@"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$")]
    private static partial Regex DomainPattern();

    [GeneratedRegex(@"^[\w][\w.-]{0,127}$")]
    private static partial Regex TagPattern();

    /// <summary>Parses and normalizes; a reference with neither tag nor digest gets "latest" when <paramref name="defaultTag"/>.</summary>
    public static ImageReference Parse(string text, bool defaultTag = true) =>
        TryParse(text, defaultTag, out var reference, out string? why)
            ? reference!
            : throw new EngineException("InvalidReference", ErrorKind.InvalidArgument, text, $"'{text}' is not a valid image reference: {why}");

    public static bool TryParse(string? text, bool defaultTag, out ImageReference? reference, out string? why)
    {
        reference = null;
        why = null;
        if (string.IsNullOrWhiteSpace(text)) { why = "it is empty"; return false; }
        if (text.Length > 255 + 72 + 128) { why = "it is too long"; return false; }
        string rest = text;
        Digest? digest = null;
        int at = rest.IndexOf('@');
        if (at >= 0)
        {
            if (!Oci.Digest.TryParse(rest[(at + 1)..], out var d, out string? digestWhy)) { why = "bad digest: " + digestWhy; return false; }
            digest = d;
            rest = rest[..at];
        }
        string? tag = null;
        int lastSlash = rest.LastIndexOf('/');
        int colon = rest.LastIndexOf(':');
        if (colon > lastSlash)
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag)) { why = $"tag '{tag}' is not valid (letters, digits, _ . -; at most 128; not starting with . or -)"; return false; }
        }
        if (rest.Length == 0) { why = "it has no repository name"; return false; }

        string domain = DefaultDomain, path = rest;
        int firstSlash = rest.IndexOf('/');
        if (firstSlash > 0)
        {
            string first = rest[..firstSlash];
            if (first.Contains('.') || first.Contains(':') || first == "localhost" || first.Any(char.IsUpper))
            {
                domain = first;
                path = rest[(firstSlash + 1)..];
                if (!DomainPattern().IsMatch(domain)) { why = $"registry '{domain}' is not a valid host[:port]"; return false; }
            }
        }
        if (domain == "index.docker.io") domain = DefaultDomain;
        if (path.Length == 0) { why = "it has no repository path"; return false; }
        foreach (string component in path.Split('/'))
        {
            if (!PathComponent().IsMatch(component))
            {
                why = component.Any(char.IsUpper)
                    ? "repository names must be lowercase"
                    : $"'{component}' is not a valid name component (lowercase letters, digits and . _ - separators)";
                return false;
            }
        }
        if (domain == DefaultDomain && !path.Contains('/')) path = "library/" + path;
        if (domain.Length + 1 + path.Length > 255) { why = "the repository name is longer than 255 characters"; return false; }
        if (tag is null && digest is null && defaultTag) tag = DefaultTag;
        reference = new ImageReference(domain, path, tag, digest);
        return true;
    }
}
