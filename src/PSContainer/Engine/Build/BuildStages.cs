namespace PSContainer.Engine.Build;

/// <summary>One FROM and the instructions up to the next.</summary>
public sealed record BuildStage(int Index, string? Name, DockerfileInstruction From, IReadOnlyList<DockerfileInstruction> Instructions);

/// <summary>
/// Splits a Dockerfile into its global ARGs (before the first FROM) and its stages, and works out which stages a
/// target needs: its FROM chain, and every stage a COPY --from or RUN --mount from= names. Only those are built,
/// as BuildKit does.
/// </summary>
public static class BuildStages
{
    public static (IReadOnlyList<DockerfileInstruction> GlobalArgs, IReadOnlyList<BuildStage> Stages) Split(Dockerfile file)
    {
        var global = new List<DockerfileInstruction>();
        var stages = new List<BuildStage>();
        DockerfileInstruction? from = null;
        var body = new List<DockerfileInstruction>();
        foreach (var i in file.Instructions)
        {
            if (i.Keyword == "FROM")
            {
                if (from is not null) stages.Add(new BuildStage(stages.Count, StageName(from), from, body));
                from = i;
                body = [];
            }
            else if (from is null)
            {
                if (i.Keyword != "ARG")
                    throw new DockerfileException("NoFromFirst", i.Line, $"{i.Keyword} before the first FROM: only ARG may come before FROM.");
                global.Add(i);
            }
            else body.Add(i);
        }
        if (from is null) throw new DockerfileException("NoFrom", 0, "The Dockerfile has no FROM instruction.");
        stages.Add(new BuildStage(stages.Count, StageName(from), from, body));
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var s in stages)
            if (s.Name is not null && !seen.Add(s.Name))
                throw new DockerfileException("DuplicateStageName", s.From.Line, $"the stage name '{s.Name}' is used twice.");
        return (global, stages);
    }

    private static string? StageName(DockerfileInstruction from)
    {
        var words = from.Arguments.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase)) return words[2].ToLowerInvariant();
        if (words.Length != 1) throw new DockerfileException("InvalidFrom", from.Line, "FROM takes an image and optionally AS name: FROM image [AS name].");
        return null;
    }

    /// <summary>The stage an image reference or --from value names, if it names one (by name or by index).</summary>
    public static BuildStage? Find(IReadOnlyList<BuildStage> stages, string reference, int before)
    {
        foreach (var s in stages.Take(before))
            if (s.Name is not null && s.Name.Equals(reference, StringComparison.OrdinalIgnoreCase)) return s;
        if (int.TryParse(reference, out int index) && index >= 0)
            return index < before ? stages[index] : throw new DockerfileException("StageNotYetDefined", 0, $"--from={reference} names stage {index}, which is not before this one.");
        return null;
    }

    /// <summary>The stages to build for <paramref name="target"/> (null: the last), in Dockerfile order.</summary>
    public static IReadOnlyList<BuildStage> Needed(IReadOnlyList<BuildStage> stages, string? target)
    {
        var last = target is null ? stages[^1]
            : stages.FirstOrDefault(s => string.Equals(s.Name, target, StringComparison.OrdinalIgnoreCase))
              ?? throw new DockerfileException("TargetNotFound", 0, $"The target stage '{target}' is not in the Dockerfile.", ErrorKind.ObjectNotFound);
        var needed = new SortedSet<int>();
        var pending = new Stack<BuildStage>();
        pending.Push(last);
        while (pending.Count > 0)
        {
            var s = pending.Pop();
            if (!needed.Add(s.Index)) continue;
            string image = s.From.Arguments.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[0];
            if (Find(stages, image, s.Index) is { } parent) pending.Push(parent);
            foreach (var i in s.Instructions)
            {
                var references = i.FlagValues("from").ToList();
                foreach (string mount in i.FlagValues("mount"))
                    foreach (string part in mount.Split(','))
                        if (part.StartsWith("from=", StringComparison.Ordinal)) references.Add(part[5..]);
                foreach (string r in references)
                    if (Find(stages, r, s.Index) is { } dep) pending.Push(dep);
            }
        }
        return needed.Select(n => stages[n]).ToList();
    }
}
