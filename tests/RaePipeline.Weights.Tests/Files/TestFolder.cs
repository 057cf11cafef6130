namespace RaePipeline.Weights.Tests.Files;

/// <summary>A fresh folder per test class instance (xunit makes one per test), removed when the test ends.</summary>
public abstract class TestFolder : IDisposable
{
    readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("rae-readers-");

    protected string PathOf(string name) => Path.Combine(folder.FullName, name);

    public void Dispose()
    {
        folder.Delete(recursive: true);
        GC.SuppressFinalize(this);
    }
}
