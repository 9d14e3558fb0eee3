using System.Management.Automation;
using PSContainer.Engine;

namespace PSContainer.Host;

/// <summary>
/// Lets a TimeSpan parameter take docker's durations (30s, 500ms, 1m30s) as well as what PowerShell converts to a
/// TimeSpan itself ('00:00:30', [TimeSpan]::FromSeconds(30), New-TimeSpan). A number is seconds: PowerShell reads an
/// unquoted 30s as the number 30 (its suffix for a short), and a bare number would otherwise be 100 ns ticks. The
/// parsing is <see cref="Duration"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class DurationTransformationAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        object? value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        switch (value)
        {
            case sbyte or byte or short or ushort or int or uint or long or ulong or decimal or double or float:
                double seconds = Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
                if (double.IsNaN(seconds) || Math.Abs(seconds) > TimeSpan.MaxValue.TotalSeconds)
                    throw new ArgumentTransformationMetadataException($"{value} is not a number of seconds.");
                return TimeSpan.FromSeconds(seconds);
            case not string:
                return value;
        }
        string text = (string)value;
        if (Duration.TryParse(text, out var d, out _)) return d;
        // Not docker's form: PowerShell's own conversion ('00:00:30') or its error, which names the parameter.
        if (TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out d)) return d;
        throw new ArgumentTransformationMetadataException($"'{text}' is not a duration: use 30s, 500ms, 1m30s or a TimeSpan such as 00:00:30.");
    }
}
