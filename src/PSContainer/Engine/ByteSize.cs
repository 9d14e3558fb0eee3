using System.Globalization;

namespace PSContainer.Engine;

/// <summary>
/// Sizes in bytes as docker's command line takes them (go-units RAMInBytes): a number, optionally with a fraction,
/// an optional space, then an optional unit k, m, g, t or p, any case, which may be followed by b or ib (64m, 64mb,
/// 64MiB, 1.5g, 512k, 100b, 1048576). Docker's units are binary whatever the spelling: 1k = 1024, 1mb = 1048576.
/// PowerShell's 64MB literal needs no parsing (it is already a number); as text ("64MB") it reads the same.
/// </summary>
public static class ByteSize
{
    /// <summary>What an error about a size says the user may write.</summary>
    public const string AcceptedForms = "use a number of bytes, a PowerShell size like 64MB, or Docker's 64m, 1g, 512k, 100b";

    /// <summary>The value that means "no limit" where a size parameter allows one (docker's --memory-swap -1).</summary>
    public const long Unlimited = -1;

    /// <summary>
    /// Parses <paramref name="text"/>. <paramref name="allowUnlimited"/> also accepts "-1". Fractions of a byte are
    /// dropped, as docker does (1.5k is 1536, 0.3k is 307).
    /// </summary>
    public static bool TryParse(string? text, bool allowUnlimited, out long bytes, out string? error)
    {
        bytes = 0;
        error = null;
        string s = (text ?? "").Trim();
        if (allowUnlimited && s == "-1")
        {
            bytes = Unlimited;
            return true;
        }
        if (s.StartsWith('-') && TryParse(s[1..], false, out _, out _)) return Fail(Negative(s, allowUnlimited), out error);
        int digitsEnd = 0;
        while (digitsEnd < s.Length && char.IsAsciiDigit(s[digitsEnd])) digitsEnd++;
        int numberEnd = digitsEnd;
        if (digitsEnd > 0 && numberEnd < s.Length && s[numberEnd] == '.')
        {
            int fractionEnd = numberEnd + 1;
            while (fractionEnd < s.Length && char.IsAsciiDigit(s[fractionEnd])) fractionEnd++;
            // "5." is not a number docker takes; a fraction needs digits after the point.
            if (fractionEnd > numberEnd + 1) numberEnd = fractionEnd;
        }
        if (digitsEnd == 0) return Fail($"'{text}' is not a size; {AcceptedForms}.", out error);

        string unit = s[numberEnd..];
        if (unit.StartsWith(' ')) unit = unit[1..];
        if (!TryMultiplier(unit.ToLowerInvariant(), out decimal multiplier))
            return Fail($"'{text}' is not a size; {AcceptedForms}.", out error);
        // Well formed by now, so a number decimal cannot hold is too large, and so is one whose product would be.
        if (!decimal.TryParse(s.AsSpan(0, numberEnd), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number)
            || number > long.MaxValue / multiplier)
            return Fail(TooLarge(text), out error);
        bytes = (long)decimal.Floor(number * multiplier);
        return true;
    }

    /// <summary>
    /// A number given as a number (PowerShell's 64MB, 1.5GB, an [int] from a variable): whole and not negative,
    /// or -1 where <paramref name="allowUnlimited"/>.
    /// </summary>
    public static bool TryFromNumber(decimal number, bool allowUnlimited, out long bytes, out string? error)
    {
        bytes = 0;
        error = null;
        if (allowUnlimited && number == Unlimited)
        {
            bytes = Unlimited;
            return true;
        }
        string shown = number.ToString(CultureInfo.InvariantCulture);
        if (number < 0) return Fail(Negative(shown, allowUnlimited), out error);
        if (decimal.Truncate(number) != number)
            return Fail($"'{shown}' is not a whole number of bytes; {AcceptedForms}.", out error);
        if (number > long.MaxValue)
            return Fail(TooLarge(shown), out error);
        bytes = (long)number;
        return true;
    }

    /// <summary>
    /// A floating-point number (PowerShell's 1.5GB is a double): checked as a double, since converting a large one
    /// to decimal rounds it to 15 digits and would change the size.
    /// </summary>
    public static bool TryFromDouble(double number, bool allowUnlimited, out long bytes, out string? error)
    {
        bytes = 0;
        error = null;
        string shown = number.ToString("R", CultureInfo.InvariantCulture);
        if (!double.IsFinite(number) || Math.Floor(number) != number)
            return Fail($"'{shown}' is not a whole number of bytes; {AcceptedForms}.", out error);
        // 2^63 is the first double past long.MaxValue.
        if (number >= 9223372036854775808.0)
            return Fail(TooLarge(shown), out error);
        if (number < 0 && !(allowUnlimited && number == Unlimited)) return Fail(Negative(shown, allowUnlimited), out error);
        bytes = (long)number;
        return true;
    }

    private static bool TryMultiplier(string unit, out decimal multiplier)
    {
        multiplier = 1;
        if (unit.Length == 0 || unit == "b") return true;
        // One of k m g t p, then nothing, "b" or "ib" (docker takes 64m, 64mb and 64mib alike).
        if (unit.Length > 3 || (unit.Length == 2 && unit[1] != 'b') || (unit.Length == 3 && unit[1..] != "ib")) return false;
        int power = "kmgtp".IndexOf(unit[0]);
        if (power < 0) return false;
        multiplier = 1L << (10 * (power + 1));
        return true;
    }

    private static string TooLarge(string? shown) => $"'{shown}' is too large: a size is at most {long.MaxValue} bytes.";

    private static string Negative(string shown, bool allowUnlimited) =>
        $"'{shown}' is not a size: it is negative{(allowUnlimited ? " (only -1, for unlimited, is allowed)" : "")}; {AcceptedForms}.";

    private static bool Fail(string message, out string? error)
    {
        error = message;
        return false;
    }
}
