using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using RaePipeline.Abstractions;
using RaePipeline.Host.Plugins;
using TorchSharp;

namespace RaePipeline.Host.Tests;

public class PluginLoadingTests
{
    [Fact]
    public void A_plugin_from_its_own_folder_runs_a_tensor_through_its_encoder()
    {
        var catalog = new ComponentCatalog();
        new PluginAssemblyLoader(NullLogger.Instance).LoadAll([TestPaths.SamplePluginFolder], catalog);
        var entry = catalog.Find(typeof(IEncoder), "patch-projection");
        entry.Should().NotBeNull("the sample plugin offers 'patch-projection'");
        entry!.Plugin.AssemblyPath.Should().StartWith(TestPaths.SamplePluginFolder);
        typeof(PluginLoadingTests).Assembly.GetReferencedAssemblies().Should().NotContain(a => a.Name == "ThirdPartyEncoder");

        var options = Activator.CreateInstance(entry.OptionsType)!;
        entry.OptionsType.GetProperty("Channels")!.SetValue(options, 24);
        var context = new ComponentContext { Device = torch.CPU, Seed = 5, BaseDirectory = TestPaths.SamplePluginFolder };
        using var encoder = (IEncoder)entry.Create(context, options, new ServiceCollection().BuildServiceProvider());
        using var images = torch.rand(2, 3, 40, 40, generator: new torch.Generator(1));
        using var latents = encoder.Encode(images);

        latents.shape.Should().Equal(2, 24, 4, 4);
        // Every token is standardized over its channels (the encoder's affine-free final normalization).
        using var tokens = latents.flatten(2).transpose(1, 2);
        tokens.mean([-1]).abs().max().item<float>().Should().BeLessThan(1e-5f);
        tokens.var([-1], unbiased: false).sub(1).abs().max().item<float>().Should().BeLessThan(1e-3f);
    }

    [Fact]
    public void A_plugin_built_against_incompatible_contracts_is_refused_naming_both_versions()
    {
        var catalog = new ComponentCatalog();
        var load = () => new PluginAssemblyLoader(NullLogger.Instance).Load(
            Path.Combine(TestPaths.IncompatiblePluginFolder, "IncompatibleContractPlugin.dll"), catalog);
        load.Should().Throw<PluginLoadException>()
            .Where(e => e.Message.Contains("contracts 0.9") && e.Message.Contains($"contracts {ContractVersion.Current}")
                        && e.Message.Contains("IncompatibleContractPlugin.dll"));
    }

    [Fact]
    public void A_plugin_built_against_contracts_1_0_loads_and_builds_its_component()
    {
        var catalog = new ComponentCatalog();
        new PluginAssemblyLoader(NullLogger.Instance).LoadAll([TestPaths.ContractsOneZeroPluginFolder], catalog);
        var entry = catalog.Find(typeof(ISampler), "one-zero")!;
        entry.Plugin.ContractVersion.Should().Be(new Version(1, 0));
        var options = Activator.CreateInstance(entry.OptionsType)!;
        var sampler = (ISampler)entry.Create(new ComponentContext { Device = torch.CPU, BaseDirectory = "." }, options, new ServiceCollection().BuildServiceProvider());
        using var grid = sampler.TimeGrid(new LatentShape(1, 1, 1));
        grid.shape.Should().Equal(3);
    }

    [Fact]
    public void An_unloadable_dll_in_the_plugin_path_is_skipped_with_a_warning_unless_the_pipeline_needs_what_it_would_offer()
    {
        var root = TestPaths.NewTemporaryFolder();
        var before = Environment.GetEnvironmentVariable(PluginFolders.EnvironmentVariable);
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "Broken"));
            var broken = Path.Combine(root, "Broken", "Broken.dll");
            File.WriteAllText(broken, "not an assembly");
            Environment.SetEnvironmentVariable(PluginFolders.EnvironmentVariable, root);

            var listing = RaeCli.Run("plugins");
            listing.Exit.Should().Be(0, listing.ToString());
            listing.Output.Should().Contain("encoders:").And.Contain("dinov2").And.Contain($"skipped (cannot be loaded): {broken}: cannot be loaded");

            var pipeline = Path.Combine(root, "p.yaml");
            File.WriteAllText(pipeline, "device: cpu\nencoder: { name: dinov2, options: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, mlp_ratio: 2, patch_size: 4, image_size: 16, num_register_tokens: 4 } }\n");
            var fine = RaeCli.Run("validate", pipeline);
            fine.Exit.Should().Be(0, $"the pipeline names nothing the broken plugin could offer\n{fine}");

            File.WriteAllText(pipeline, "device: cpu\nencoder: { name: broken-encoder }\n");
            var needed = RaeCli.Run("validate", pipeline);
            needed.Exit.Should().Be(2);
            needed.Error.Should().Contain("unknown encoder plugin 'broken-encoder'")
                .And.Contain($"plugins that failed to load (one may provide it): {broken}: cannot be loaded");
        }
        finally
        {
            Environment.SetEnvironmentVariable(PluginFolders.EnvironmentVariable, before);
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Plugin_folders_hold_no_TorchSharp_or_libtorch_copy()
    {
        string[] hostProvided = ["TorchSharp", "libtorch", "libLibTorchSharp", "libc10", "SkiaSharp", "libSkiaSharp", "RaePipeline.Abstractions", "YamlDotNet", "Microsoft.Extensions"];
        var bundled = Directory.Exists(TestPaths.BundledPluginsFolder) ? Directory.GetDirectories(TestPaths.BundledPluginsFolder) : [];
        foreach (var folder in bundled.Append(TestPaths.SamplePluginFolder))
        {
            var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Select(f => Path.GetFileName(f)!).ToList();
            files.Should().Contain(Path.GetFileName(folder) + ".dll");
            files.Where(f => hostProvided.Any(p => f.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
                .Should().BeEmpty($"plugin folder {folder} must not carry what the host provides");
        }
        // The onnx plugin carries what the host does not: ONNX Runtime (managed and native) and the ResNet-18 graphs.
        var onnx = Path.Combine(TestPaths.BundledPluginsFolder, "RaePipeline.Encoders.Onnx");
        var onnxFiles = Directory.GetFiles(onnx, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(onnx, f)).ToList();
        onnxFiles.Should().Contain(["Microsoft.ML.OnnxRuntime.dll", Path.Combine("models", "ResNet18.onnx"), Path.Combine("models", "ResNetPreprocess.onnx")]);
        if (OperatingSystem.IsLinux()) onnxFiles.Should().Contain("libonnxruntime.so");
    }
}
