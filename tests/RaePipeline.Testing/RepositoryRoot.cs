namespace RaePipeline.Testing;

/// <summary>The repository root: the first folder above the test binaries that holds RaePipeline.sln.</summary>
public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "RaePipeline.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"no RaePipeline.sln above {AppContext.BaseDirectory}");
    }
}
