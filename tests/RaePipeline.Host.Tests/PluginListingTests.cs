namespace RaePipeline.Host.Tests;

public class PluginListingTests
{
    [Fact]
    public void Plugins_command_lists_bundled_and_path_plugins_by_role_with_assembly_and_version()
    {
        var before = Environment.GetEnvironmentVariable(Plugins.PluginFolders.EnvironmentVariable);
        Environment.SetEnvironmentVariable(Plugins.PluginFolders.EnvironmentVariable, TestPaths.SamplePluginFolder);
        try
        {
            var output = new StringWriter();
            var exit = RaeCommand.Run(["plugins"], output, new StringWriter(), Pipeline.ProgressReporter.Silent, _ => { });
            exit.Should().Be(0);
            var text = output.ToString();
            text.Should().Contain("encoders:").And.Contain("patch-projection").And.Contain("ThirdPartyEncoder 1.0.0.0 (contracts 1.1)");
            text.Should().Contain("denoisers:").And.Contain("dit-dh").And.Contain("lightning-dit");
            text.Should().MatchRegex(@"XL\b.*838\.7M");
            text.Should().Contain("samplers:").And.Contain("euler").And.Contain("heun");
        }
        finally
        {
            Environment.SetEnvironmentVariable(Plugins.PluginFolders.EnvironmentVariable, before);
        }
    }
}
