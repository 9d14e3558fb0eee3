using System.Security.Cryptography;

namespace PSContainer.Engine.Oci;

/// <summary>A content digest "algorithm:hex" as the OCI image spec defines it. Only sha256 is stored.</summary>
public readonly record struct Digest(string Algorithm, string Hex)
{
    public override string ToString() => Algorithm + ":" + Hex;

    /// <summary>The 12-hex-digit short form docker prints.</summary>
    public string Short => Hex[..12];

    public static Digest Parse(string text, object? target = null) =>
        TryParse(text, out var d, out string? why)
            ? d
            : throw new EngineException("InvalidDigest", ErrorKind.InvalidData, target ?? text, $"'{text}' is not a valid digest: {why}");

    public static bool TryParse(string? text, out Digest digest) => TryParse(text, out digest, out _);

    public static bool TryParse(string? text, out Digest digest, out string? why)
    {
        digest = default;
        why = null;
        if (string.IsNullOrEmpty(text)) { why = "it is empty"; return false; }
        int colon = text.IndexOf(':');
        if (colon <= 0) { why = "it has no algorithm prefix (expected sha256:<64 hex digits>)"; return false; }
        string algorithm = text[..colon], hex = text[(colon + 1)..];
        int length = algorithm switch { "sha256" => 64, "sha512" => 128, _ => -1 };
        if (length < 0) { why = $"algorithm '{algorithm}' is not supported"; return false; }
        if (hex.Length != length || !hex.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f')))
        {
            why = $"{algorithm} needs {length} lowercase hex digits";
            return false;
        }
        digest = new Digest(algorithm, hex);
        return true;
    }

    public static Digest FromHash(byte[] sha256) => new("sha256", Convert.ToHexStringLower(sha256));

    public static Digest Compute(ReadOnlySpan<byte> content) => FromHash(SHA256.HashData(content));

    public static Digest Compute(string text) => Compute(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>The chain id of a layer stack (OCI image spec: ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))).</summary>
    public static IReadOnlyList<Digest> ChainIds(IEnumerable<Digest> diffIds)
    {
        var result = new List<Digest>();
        Digest? previous = null;
        foreach (var diff in diffIds)
        {
            var chain = previous is null ? diff : Compute(previous.Value + " " + diff);
            result.Add(chain);
            previous = chain;
        }
        return result;
    }
}
