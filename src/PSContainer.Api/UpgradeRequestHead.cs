using System.Text;

namespace PSContainer.Api;

/// <summary>
/// Reads HTTP/1.1 request heads off a connection's raw bytes, for <see cref="UpgradeBodyTransport"/>: just enough to
/// find where each request ends (its head and a Content-Length body) and to recognise an upgrade request that carries
/// a body. The docker CLI starts an attached exec with such a request (POST /exec/{id}/start with a JSON body and
/// Connection: Upgrade, Upgrade: tcp); Kestrel does not upgrade a request with a body, so its head is rewritten to
/// carry the body in the <see cref="BodyHeader"/> header instead. Anything this reader does not follow (chunked
/// bodies, malformed heads, an upgrade already done) ends the reading: the rest of the connection passes unchanged
/// and Kestrel itself answers whatever is wrong with it.
/// </summary>
public static class UpgradeRequestHead
{
    /// <summary>The longest head looked for; Kestrel's own default limit is 32 KiB.</summary>
    public const int MaxHeadLength = 32 * 1024;

    /// <summary>The largest body moved into a header (an exec start body is a few dozen bytes).</summary>
    public const int MaxBodyLength = 16 * 1024;

    /// <summary>The request header that carries a moved body, base64.</summary>
    public const string BodyHeader = "X-Psc-Upgrade-Body";

    public enum Kind
    {
        /// <summary>No complete head yet: read more.</summary>
        Incomplete,
        /// <summary>A request that is not upgraded: <see cref="Head.Length"/> bytes of head, then <see cref="Head.BodyLength"/> of body, then the next request.</summary>
        Plain,
        /// <summary>An upgrade request with a body of <see cref="Head.BodyLength"/> bytes: to be rewritten, then the connection is raw.</summary>
        UpgradeWithBody,
        /// <summary>An upgrade request without a body, Kestrel's to upgrade: the connection is raw from here.</summary>
        Upgrade,
        /// <summary>Nothing more to follow: a chunked body, an upgrade with a body too large to move, or bytes that are not a request head.</summary>
        Opaque,
    }

    public readonly record struct Head(Kind Kind, int Length, long BodyLength);

    /// <summary>Classifies the request head at the start of <paramref name="data"/>.</summary>
    public static Head Parse(ReadOnlySpan<byte> data)
    {
        int length = HeadLength(data[..Math.Min(data.Length, MaxHeadLength)]);
        if (length < 0) return new Head(data.Length >= MaxHeadLength ? Kind.Opaque : Kind.Incomplete, 0, 0);
        var lines = Lines(data[..length]);
        if (lines.Length == 0 || !IsRequestLine(lines[0])) return new Head(Kind.Opaque, length, 0);
        long? contentLength = null;
        bool chunked = false, connectionUpgrade = false;
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0 || line[0] is ' ' or '\t') return new Head(Kind.Opaque, length, 0); // malformed or folded: Kestrel's to refuse
            string name = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (!long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n)
                    || (contentLength is long seen && seen != n))
                    return new Head(Kind.Opaque, length, 0);
                contentLength = n;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)) chunked = true;
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
                connectionUpgrade |= value.Split(',').Any(t => t.Trim().Equals("upgrade", StringComparison.OrdinalIgnoreCase));
        }
        if (chunked) return new Head(Kind.Opaque, length, 0);
        long body = contentLength ?? 0;
        // Kestrel takes Connection: upgrade alone as an upgrade request (the Upgrade header names only the protocol);
        // read any other way, a client's raw stream after the 101 would be parsed as further requests.
        if (connectionUpgrade)
            return body == 0 ? new Head(Kind.Upgrade, length, 0)
                : body <= MaxBodyLength ? new Head(Kind.UpgradeWithBody, length, body) : new Head(Kind.Opaque, length, 0);
        return new Head(Kind.Plain, length, body);
    }

    /// <summary>
    /// The head of an upgrade request without its body: Content-Length (and any <see cref="BodyHeader"/> the client
    /// sent itself) dropped, the body added as <see cref="BodyHeader"/>. The head must be one <see cref="Parse"/>
    /// classified as <see cref="Kind.UpgradeWithBody"/>.
    /// </summary>
    public static byte[] Rewrite(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        var lines = Lines(head[..HeadLength(head)]);
        var kept = lines.Where((line, i) => i == 0 || !(HasName(line, "Content-Length") || HasName(line, BodyHeader)));
        string text = string.Join("\r\n", kept) + $"\r\n{BodyHeader}: {Convert.ToBase64String(body)}\r\n\r\n";
        return Encoding.Latin1.GetBytes(text);
    }

    /// <summary>The body a rewritten request carried, or null when it came as a plain request.</summary>
    public static byte[]? MovedBody(HttpRequest request)
    {
        if (request.Headers[BodyHeader] is not { Count: 1 } values) return null;
        try
        {
            return Convert.FromBase64String(values[0]!);
        }
        catch (FormatException)
        {
            throw ApiException.BadParameter($"the {BodyHeader} header is not base64");
        }
    }

    /// <summary>
    /// The length of the head at the start of <paramref name="data"/>, its empty line included, or -1 if it has not
    /// ended yet. Lines end with CRLF or, as Kestrel also accepts (and Docker.DotNet sends), a bare LF.
    /// </summary>
    private static int HeadLength(ReadOnlySpan<byte> data)
    {
        int lineStart = 0;
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] != (byte)'\n') continue;
            int lineLength = i - lineStart;
            if (lineLength == 0 || (lineLength == 1 && data[lineStart] == (byte)'\r')) return i + 1;
            lineStart = i + 1;
        }
        return -1;
    }

    /// <summary>The head's lines without their terminators, up to (not including) the empty line.</summary>
    private static string[] Lines(ReadOnlySpan<byte> head)
    {
        var lines = Encoding.Latin1.GetString(head).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        int empty = lines.IndexOf("");
        return lines.Take(empty < 0 ? lines.Count : empty).ToArray();
    }

    private static bool HasName(string line, string name) =>
        line.IndexOf(':') is int colon and > 0 && line[..colon].Trim().Equals(name, StringComparison.OrdinalIgnoreCase);

    /// <summary>METHOD SP target SP HTTP/1.x, the method a token of letters.</summary>
    private static bool IsRequestLine(string line)
    {
        var parts = line.Split(' ');
        return parts.Length == 3 && parts[0].Length > 0 && parts[0].All(char.IsAsciiLetterUpper) && parts[1].Length > 0
               && parts[2] is "HTTP/1.1" or "HTTP/1.0";
    }
}
