namespace PSContainer.Engine.Containers;

/// <summary>docker-style random names ("brave_turing") for containers created without -Name.</summary>
public static class NameGenerator
{
    private static readonly string[] Adjectives =
    [
        "admiring", "bold", "brave", "busy", "calm", "clever", "eager", "elegant", "focused", "gallant", "happy", "hopeful",
        "jolly", "keen", "kind", "lucid", "modest", "nifty", "optimistic", "quirky", "relaxed", "serene", "sharp", "stoic",
        "tender", "trusting", "vibrant", "wizardly", "youthful", "zealous",
    ];

    private static readonly string[] Names =
    [
        "babbage", "bell", "curie", "darwin", "dijkstra", "einstein", "euler", "faraday", "feynman", "gauss", "hamilton",
        "hopper", "hypatia", "johnson", "kepler", "knuth", "lamarr", "liskov", "lovelace", "meitner", "newton", "noether",
        "pascal", "ritchie", "shannon", "thompson", "torvalds", "turing", "wozniak", "yonath",
    ];

    public static string Next() =>
        $"{Adjectives[Random.Shared.Next(Adjectives.Length)]}_{Names[Random.Shared.Next(Names.Length)]}";
}
