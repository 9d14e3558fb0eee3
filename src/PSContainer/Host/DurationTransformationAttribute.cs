using System.Management.Automation;
using PSContainer.Engine;

namespace PSContainer.Host;

/// <summary>
/// Lets a TimeSpan parameter take docker's durations (30s, 500ms, 1m30s) as well as what PowerShell converts to a
/// TimeSpan itself ('00:00:30', [TimeSpan]::FromSeconds(30), New-TimeSpan). The parsing is <see cref="Duration"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class DurationTransformationAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        object? value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        if (value is not string text) return value;
        if (Duration.TryParse(text, out var d, out _)) return d;
        // Not docker's form: PowerShell's own conversion ('00:00:30') or its error, which names the parameter.
        if (TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out d)) return d;
        throw new ArgumentTransformationMetadataException($"'{text}' is not a duration: use 30s, 500ms, 1m30s or a TimeSpan such as 00:00:30.");
    }
}
