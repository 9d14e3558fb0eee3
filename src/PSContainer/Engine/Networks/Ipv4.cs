using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PSContainer.Engine.Networks;

/// <summary>IPv4 addresses as host-order integers (10.0.0.1 is 0x0A000001), which make subnet arithmetic plain.</summary>
public static class Ipv4
{
    public static bool TryParse(string text, out uint address)
    {
        address = 0;
        if (!IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork) return false;
        // IPAddress accepts "10" or "10.1" (inet_aton forms); require the dotted quad.
        if (text.Count(c => c == '.') != 3) return false;
        byte[] b = ip.GetAddressBytes();
        address = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
        return true;
    }

    public static uint Parse(string text, string what) =>
        TryParse(text, out uint a) ? a : throw new EngineException("InvalidAddress", ErrorKind.InvalidArgument, text, $"'{text}' is not a valid IPv4 address ({what}).");

    public static string Format(uint a) => string.Create(CultureInfo.InvariantCulture, $"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}");
}

/// <summary>An IPv4 subnet in CIDR form.</summary>
public readonly record struct Subnet(uint Network, int PrefixLength)
{
    public uint Mask => PrefixLength == 0 ? 0 : uint.MaxValue << (32 - PrefixLength);
    public uint Broadcast => Network | ~Mask;
    public ulong Size => 1UL << (32 - PrefixLength);

    public bool Contains(uint address) => (address & Mask) == Network;

    public bool Contains(Subnet other) => other.PrefixLength >= PrefixLength && Contains(other.Network);

    public bool Overlaps(Subnet other) => Contains(other.Network) || other.Contains(Network);

    /// <summary>The addresses hosts may use: all but the network and broadcast addresses (a /31 or /32 has no such).</summary>
    public uint FirstHost => PrefixLength >= 31 ? Network : Network + 1;
    public uint LastHost => PrefixLength >= 31 ? Broadcast : Broadcast - 1;

    public override string ToString() => $"{Ipv4.Format(Network)}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    public static bool TryParse(string text, out Subnet subnet, out string? error)
    {
        subnet = default;
        error = null;
        int slash = text.IndexOf('/');
        if (slash < 0 || !Ipv4.TryParse(text[..slash], out uint a) ||
            !int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 0 or > 32)
        {
            error = $"'{text}' is not a valid IPv4 subnet: use CIDR notation such as 10.89.0.0/24.";
            return false;
        }
        subnet = new Subnet(a & (p == 0 ? 0 : uint.MaxValue << (32 - p)), p);
        if (subnet.Network != a)
        {
            error = $"'{text}' is not a subnet: host bits are set (did you mean {subnet}?).";
            return false;
        }
        if (p > 30)
        {
            error = $"Subnet '{text}' is too small: a network needs at least a /30 (a gateway and one container).";
            return false;
        }
        return true;
    }

    public static Subnet Parse(string text) =>
        TryParse(text, out var s, out string? error) ? s : throw new EngineException("InvalidSubnet", ErrorKind.InvalidArgument, text, error!);
}
