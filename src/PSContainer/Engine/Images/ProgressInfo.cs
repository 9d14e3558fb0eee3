namespace PSContainer.Engine.Images;

/// <summary>
/// A progress report from long engine work. Id 0 is the whole operation; other ids are its parts (one per layer),
/// so a host can show a parent bar with a child bar per layer.
/// </summary>
public sealed record ProgressInfo(int Id, string Activity, string Status, long Done, long Total, bool Completed = false)
{
    public int Percent => Total <= 0 ? -1 : (int)Math.Clamp(Done * 100 / Total, 0, 100);
}
