namespace PSContainer.Tests;

/// <summary>The source tree the tests were built from (the directory holding PSContainer.sln), for tests that read
/// fixtures or scan sources.</summary>
public static class RepoTree
{
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PSContainer.sln"))) dir = dir.Parent;
            Xunit.Assert.True(dir is not null, $"No PSContainer.sln above {AppContext.BaseDirectory}");
            return dir!.FullName;
        }
    }

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);
}
