using System.Management.Automation;
using PSContainer.Engine;

namespace PSContainer.Host;

/// <summary>
/// Lets a byte-size parameter take what a docker user types as well as what a PowerShell user types: Docker's 64m,
/// 1g, 512k, 100b, 64mb (binary units, any case), plain bytes, and PowerShell's 64MB literal (already a number).
/// Put it on every [long] size parameter so they all read sizes alike; the parsing is <see cref="ByteSize"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class SizeTransformationAttribute : ArgumentTransformationAttribute
{
    /// <summary>Also accept -1, meaning no limit (docker's --memory-swap -1).</summary>
    public bool AllowUnlimited { get; set; }

    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        object? value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        // An unset nullable parameter stays unset.
        if (value is null) return null;
        // The binder wraps this exception in a ParameterBindingArgumentTransformationException that names the parameter.
        return TryTransform(value, AllowUnlimited, out long bytes, out string? error) ? bytes : throw new ArgumentTransformationMetadataException(error);
    }

    /// <summary>The transformation without PowerShell's binder around it (what the unit tests call).</summary>
    public static bool TryTransform(object value, bool allowUnlimited, out long bytes, out string? error)
    {
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        switch (value)
        {
            case string text:
                return ByteSize.TryParse(text, allowUnlimited, out bytes, out error);
            case sbyte or byte or short or ushort or int or uint or long or ulong or decimal:
                return ByteSize.TryFromNumber(Convert.ToDecimal(value, invariant), allowUnlimited, out bytes, out error);
            // PowerShell's 1.5GB is a double.
            case double or float:
                return ByteSize.TryFromDouble(Convert.ToDouble(value, invariant), allowUnlimited, out bytes, out error);
            default:
                bytes = 0;
                error = $"'{value}' ({value.GetType().Name}) is not a size; {ByteSize.AcceptedForms}.";
                return false;
        }
    }
}
