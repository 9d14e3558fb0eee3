using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace PSContainer.Engine.Networks;

/// <summary>
/// The tests' own DNS codec (RFC 1035): queries and answers written and read independently of psc-dns, whose C code
/// (src/PSContainer.Native/native/dns) the tests drive as a process (PscDnsTests). It was the .NET psc-dns's codec.
/// </summary>
public static class DnsMessage
{
    public const ushort TypeA = 1, TypePtr = 12, TypeAaaa = 28, ClassIn = 1;
    public const int RcodeNoError = 0, RcodeFormErr = 1, RcodeServFail = 2, RcodeNxDomain = 3, RcodeNotImp = 4;

    /// <summary>A parsed query: its id, flags, the question's name (lower case, no trailing dot), type and class, and where the question ends.</summary>
    public sealed record Query(ushort Id, ushort Flags, string Name, ushort Type, ushort Class, int QuestionEnd)
    {
        public bool RecursionDesired => (Flags & 0x0100) != 0;
        public int Opcode => (Flags >> 11) & 0xF;
    }

    public static Query? ParseQuery(ReadOnlySpan<byte> m)
    {
        if (m.Length < 12) return null;
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(m);
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(m[2..]);
        ushort qd = BinaryPrimitives.ReadUInt16BigEndian(m[4..]);
        if ((flags & 0x8000) != 0 || qd != 1) return null;
        int pos = 12;
        var name = new StringBuilder();
        while (true)
        {
            if (pos >= m.Length) return null;
            int len = m[pos++];
            if (len == 0) break;
            if (len > 63 || pos + len > m.Length) return null; // no compression in a question we accept
            if (name.Length > 0) name.Append('.');
            name.Append(Encoding.ASCII.GetString(m.Slice(pos, len)));
            pos += len;
            if (name.Length > 253) return null;
        }
        if (pos + 4 > m.Length) return null;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(m[pos..]);
        ushort cls = BinaryPrimitives.ReadUInt16BigEndian(m[(pos + 2)..]);
        return new Query(id, flags, name.ToString().ToLowerInvariant(), type, cls, pos + 4);
    }

    /// <summary>
    /// Whether <paramref name="reply"/> answers <paramref name="sent"/> (whose question <paramref name="q"/> parsed):
    /// a response (QR) with the same id and opcode, one question, and that question the same name (without case, as
    /// resolvers may echo it), type and class.
    /// </summary>
    public static bool IsReplyTo(ReadOnlySpan<byte> sent, Query q, ReadOnlySpan<byte> reply)
    {
        if (reply.Length < q.QuestionEnd || sent.Length < q.QuestionEnd) return false;
        if (BinaryPrimitives.ReadUInt16BigEndian(reply) != BinaryPrimitives.ReadUInt16BigEndian(sent)) return false;
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(reply[2..]);
        if ((flags & 0x8000) == 0 || ((flags >> 11) & 0xF) != q.Opcode) return false;
        if (BinaryPrimitives.ReadUInt16BigEndian(reply[4..]) != 1) return false;
        int pos = 12;
        while (true)
        {
            int len = sent[pos];
            if (reply[pos] != len) return false;
            pos++;
            if (len == 0) break;
            for (int i = 0; i < len; i++, pos++)
                if (AsciiLower(sent[pos]) != AsciiLower(reply[pos])) return false;
        }
        return reply.Slice(pos, 4).SequenceEqual(sent.Slice(pos, 4));
    }

    private static byte AsciiLower(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;

    /// <summary>Encodes a query (for tests and tools): one question, recursion desired.</summary>
    public static byte[] BuildQuery(ushort id, string name, ushort type)
    {
        var b = new List<byte>(32 + name.Length);
        void U16(int v) { b.Add((byte)(v >> 8)); b.Add((byte)v); }
        U16(id); U16(0x0100); U16(1); U16(0); U16(0); U16(0);
        AppendName(b, name);
        U16(type); U16(ClassIn);
        return b.ToArray();
    }

    private static void AppendName(List<byte> b, string name)
    {
        foreach (string label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            byte[] l = Encoding.ASCII.GetBytes(label);
            b.Add((byte)l.Length);
            b.AddRange(l);
        }
        b.Add(0);
    }

    /// <summary>
    /// A response to <paramref name="q"/> (question copied from <paramref name="query"/>) with A answers
    /// (<paramref name="addresses"/>, host order) or one PTR answer, authoritative, recursion available.
    /// </summary>
    public static byte[] BuildResponse(ReadOnlySpan<byte> query, Query q, int rcode, IReadOnlyList<uint>? addresses = null, string? pointer = null, uint ttl = 5)
    {
        int answers = (addresses?.Count ?? 0) + (pointer is null ? 0 : 1);
        var b = new List<byte>(q.QuestionEnd + 16 * answers + 64);
        void U16(int v) { b.Add((byte)(v >> 8)); b.Add((byte)v); }
        void U32(uint v) { U16((int)(v >> 16)); U16((int)(v & 0xFFFF)); }
        int flags = 0x8000 | (q.Opcode << 11) | 0x0400 /* AA */ | (q.Flags & 0x0100) /* RD */ | 0x0080 /* RA */ | (rcode & 0xF);
        U16(q.Id); U16(flags); U16(1); U16(answers); U16(0); U16(0);
        for (int i = 12; i < q.QuestionEnd; i++) b.Add(query[i]);
        foreach (uint a in addresses ?? [])
        {
            U16(0xC00C); U16(TypeA); U16(ClassIn); U32(ttl); U16(4); U32(a);
        }
        if (pointer is not null)
        {
            U16(0xC00C); U16(TypePtr); U16(ClassIn); U32(ttl);
            var name = new List<byte>();
            AppendName(name, pointer);
            U16(name.Count);
            b.AddRange(name);
        }
        return b.ToArray();
    }

    /// <summary>Reads the A records of a response (for tests): (rcode, addresses in host order).</summary>
    public static (int Rcode, List<uint> Addresses, List<string> Pointers) ParseResponse(ReadOnlySpan<byte> m)
    {
        int rcode = m[3] & 0xF;
        int qd = BinaryPrimitives.ReadUInt16BigEndian(m[4..]), an = BinaryPrimitives.ReadUInt16BigEndian(m[6..]);
        int pos = 12;
        for (int i = 0; i < qd; i++) { pos = SkipName(m, pos) + 4; }
        var list = new List<uint>();
        var ptrs = new List<string>();
        for (int i = 0; i < an; i++)
        {
            pos = SkipName(m, pos);
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(m[pos..]);
            int rdlen = BinaryPrimitives.ReadUInt16BigEndian(m[(pos + 8)..]);
            pos += 10;
            if (type == TypeA && rdlen == 4) list.Add(BinaryPrimitives.ReadUInt32BigEndian(m[pos..]));
            if (type == TypePtr) ptrs.Add(ReadName(m, pos));
            pos += rdlen;
        }
        return (rcode, list, ptrs);
    }

    private static int SkipName(ReadOnlySpan<byte> m, int pos)
    {
        while (true)
        {
            int len = m[pos];
            if (len == 0) return pos + 1;
            if ((len & 0xC0) == 0xC0) return pos + 2;
            pos += len + 1;
        }
    }

    private static string ReadName(ReadOnlySpan<byte> m, int pos)
    {
        var parts = new List<string>();
        for (int guard = 0; guard < 64; guard++)
        {
            int len = m[pos];
            if (len == 0) break;
            if ((len & 0xC0) == 0xC0) { pos = ((len & 0x3F) << 8) | m[pos + 1]; continue; }
            parts.Add(Encoding.ASCII.GetString(m.Slice(pos + 1, len)));
            pos += len + 1;
        }
        return string.Join('.', parts);
    }

    /// <summary>The address a reverse name (d.c.b.a.in-addr.arpa) stands for, if it is one.</summary>
    public static uint? ReverseAddress(string name)
    {
        const string suffix = ".in-addr.arpa";
        if (!name.EndsWith(suffix, StringComparison.Ordinal)) return null;
        string[] p = name[..^suffix.Length].Split('.');
        if (p.Length != 4) return null;
        uint a = 0;
        for (int i = 3; i >= 0; i--)
        {
            if (!byte.TryParse(p[i], NumberStyles.None, CultureInfo.InvariantCulture, out byte v)) return null;
            a = (a << 8) | v;
        }
        return a;
    }

    /// <summary>
    /// Reads a records file (hosts format: address name [names...]) into name → addresses and address → first name.
    /// Names are matched without case.
    /// </summary>
    public static (Dictionary<string, List<uint>> Names, Dictionary<uint, string> Reverse) ParseRecords(string text)
    {
        var names = new Dictionary<string, List<uint>>(StringComparer.OrdinalIgnoreCase);
        var reverse = new Dictionary<uint, string>();
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Split('#')[0].Trim();
            string[] f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2 || !TryParseIpv4(f[0], out uint a)) continue;
            reverse.TryAdd(a, f[1]);
            foreach (string n in f.Skip(1))
            {
                if (!names.TryGetValue(n, out var list)) names[n] = list = new List<uint>();
                if (!list.Contains(a)) list.Add(a);
            }
        }
        return (names, reverse);
    }

    public static bool TryParseIpv4(string s, out uint a)
    {
        a = 0;
        string[] p = s.Split('.');
        if (p.Length != 4) return false;
        foreach (string x in p)
        {
            if (!byte.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out byte v)) return false;
            a = (a << 8) | v;
        }
        return true;
    }
}
