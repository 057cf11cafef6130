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
        using var encoder = (IEncoder)entry.Create(context, options);
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
        var load = () => new PluginAssemblyLoader(NullLogger.Instance).LoadAll([TestPaths.IncompatiblePluginFolder], catalog);
        load.Should().Throw<PluginLoadException>()
            .Where(e => e.Message.Contains("contracts 0.9") && e.Message.Contains($"contracts {ContractVersion.Current}")
                        && e.Message.Contains("IncompatibleContractPlugin.dll"));
    }

    [Fact]
    public void Plugin_folders_hold_no_TorchSharp_or_libtorch_copy()
    {
        string[] hostProvided = ["TorchSharp", "libtorch", "libLibTorchSharp", "libc10", "SkiaSharp", "libSkiaSharp", "RaePipeline.Abstractions"];
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
