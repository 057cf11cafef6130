namespace RaePipeline.Host.Tests;

/// <summary>Folders the build leaves for the tests.</summary>
public static class TestPaths
{
    public static string SamplePluginFolder => Path.Combine(RepositoryRoot.Path, "artifacts", "samples", "ThirdPartyEncoder");

    public static string IncompatiblePluginFolder =>
        Path.Combine(RepositoryRoot.Path, "artifacts", "test-plugins", "IncompatibleContractPlugin");

    public static string ContractsOneZeroPluginFolder =>
        Path.Combine(RepositoryRoot.Path, "artifacts", "test-plugins", "ContractsOneZeroPlugin");

    public static string BundledPluginsFolder => Path.Combine(AppContext.BaseDirectory, "plugins");

    /// <summary>A fresh temporary folder.</summary>
    public static string NewTemporaryFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "rae-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }
}
