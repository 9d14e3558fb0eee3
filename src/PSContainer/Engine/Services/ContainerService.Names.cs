using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

public sealed partial class ContainerService
{
    /// <summary>The shortest id prefix a plain name also selects by (docker's short ids are 12; 4 keeps a short
    /// name from matching ids by chance).</summary>
    public const int MinIdPrefixForNames = 4;

    /// <summary>
    /// Whether a front end's name argument selects <paramref name="c"/>: its name matches
    /// (<paramref name="nameMatches"/> is the front end's pattern rule, PowerShell's wildcards for the cmdlets), or,
    /// for a plain name, the id starts with it. The one rule for listings; an operation on one container resolves
    /// its argument with <see cref="ResolveId"/>.
    /// </summary>
    public static bool Selects(Container c, string name, Func<string, bool> nameMatches, bool isPattern) =>
        nameMatches(c.Name) || (!isPattern && name.Length >= MinIdPrefixForNames && c.Id.StartsWith(name, StringComparison.Ordinal));

    /// <summary>The containers a name pattern selects, as <see cref="Selects"/> decides.</summary>
    public IReadOnlyList<Container> Select(string name, Func<string, bool> nameMatches, bool isPattern) =>
        Manager.List().Where(c => Selects(c, name, nameMatches, isPattern)).ToList();
}
