using Microsoft.Extensions.DependencyInjection;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using RaePipeline.Abstractions;
using RaePipeline.Host.Plugins;
using RaePipeline.Imaging;
using RaePipeline.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Host.Tests;

/// <summary>
/// The bundled onnx plugin loaded as the host loads it: from its own folder, in its own load context, with ONNX
/// Runtime's native library resolved from that folder; its ResNet-18 as the yardstick of the eval job.
/// </summary>
public sealed class OnnxPluginTests : IDisposable
{
    const string PluginName = "RaePipeline.Encoders.Onnx";
    readonly string folder = TestPaths.NewTemporaryFolder();

    public void Dispose() => Directory.Delete(folder, recursive: true);

    static string PluginFolder => Path.Combine(TestPaths.BundledPluginsFolder, PluginName);

    static ComponentCatalog LoadPlugin()
    {
        var catalog = new ComponentCatalog();
        new PluginAssemblyLoader(NullLogger.Instance).Load(Path.Combine(PluginFolder, PluginName + ".dll"), catalog);
        return catalog;
    }

    [Fact]
    public void The_plugin_runs_ONNX_Runtime_from_the_native_library_in_its_own_folder()
    {
        var catalog = LoadPlugin();
        var entry = catalog.Find(typeof(IFeatureExtractor), "resnet18")!;
        entry.Plugin.AssemblyPath.Should().StartWith(PluginFolder);
        catalog.Find(typeof(IEncoder), "onnx").Should().NotBeNull();
        catalog.Find(typeof(IEncoder), "resnet18").Should().NotBeNull();
        var context = new ComponentContext { Device = torch.CPU, BaseDirectory = folder };

        using var extractor = (IFeatureExtractor)entry.Create(context, Activator.CreateInstance(entry.OptionsType)!, new ServiceCollection().BuildServiceProvider());
        using var images = rand([1, 3, 32, 32], generator: new Generator(2));
        using var features = extractor.Features(images);

        features.shape.Should().Equal(1, 512);
        if (OperatingSystem.IsLinux())
        {
            var mapped = File.ReadLines("/proc/self/maps").Where(l => l.Contains("libonnxruntime.so")).ToList();
            mapped.Should().NotBeEmpty().And.OnlyContain(l => l.Contains(Path.Combine(PluginFolder, "libonnxruntime.so")),
                "the plugin's load context resolves ONNX Runtime from the plugin folder");
        }
    }

    [Fact]
    public void Plugins_command_lists_the_onnx_encoders_and_the_resnet18_yardstick()
    {
        var output = new StringWriter();
        RaeCommand.Run(["plugins"], output, new StringWriter(), Pipeline.ProgressReporter.Silent, _ => { }).Should().Be(0);
        var text = output.ToString();
        var extractors = text[text.IndexOf("feature extractors:", StringComparison.Ordinal)..];
        text.Should().Contain("  onnx ").And.Contain(PluginName);
        extractors.Should().Contain("  resnet18 ");
        text.Should().MatchRegex(@"ONNX Runtime 1\.\d+");
    }

    [Fact]
    public void Eval_with_the_resnet18_extractor_reports_fd_resnet18_from_its_pooled_features()
    {
        var samples = WriteImages("samples", 4, seed: 1, brightness: 0.9);
        var reference = WriteImages("reference", 4, seed: 2, brightness: 0.4);
        var pipeline = Path.Combine(folder, "pipeline.yaml");
        File.WriteAllText(pipeline, $$"""
            output: "{{folder.Replace('\\', '/')}}/run"
            device: cpu
            feature_extractor: { name: resnet18 }
            jobs:
              - eval: { samples: "{{samples.Replace('\\', '/')}}", reference: "{{reference.Replace('\\', '/')}}", batch_size: 4, precision_recall: false }
            """);
        var error = new StringWriter();

        RaeCommand.Run(["run", pipeline], new StringWriter(), error, Pipeline.ProgressReporter.Silent, _ => { })
            .Should().Be(0, error.ToString());

        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "run", "metrics.json")))!.AsObject();
        metrics.Select(m => m.Key).Should().Contain("eval/fd_resnet18").And.NotContain(k => k.StartsWith("eval/fid"));
        double reported = metrics["eval/fd_resnet18"]!.GetValue<double>();
        // The same distance from the plugin's features computed here, outside the job.
        var entry = LoadPlugin().Find(typeof(IFeatureExtractor), "resnet18")!;
        var context = new ComponentContext { Device = torch.CPU, BaseDirectory = folder };
        using var extractor = (IFeatureExtractor)entry.Create(context, Activator.CreateInstance(entry.OptionsType)!, new ServiceCollection().BuildServiceProvider());
        using var scope = NewDisposeScope();
        var sampleStatistics = GaussianStatistics.FromFeatures(extractor.Features(ReadImages(samples)));
        var referenceStatistics = GaussianStatistics.FromFeatures(extractor.Features(ReadImages(reference)));
        double expected = FrechetDistance.Compute(sampleStatistics, referenceStatistics).Distance;
        reported.Should().BeApproximately(expected, 1e-4 * expected);
        expected.Should().BeGreaterThan(1, "bright and dark images lie apart in ResNet-18's feature space");
    }

    string WriteImages(string name, int count, int seed, double brightness)
    {
        var path = Directory.CreateDirectory(Path.Combine(folder, name)).FullName;
        using var images = rand([count, 3, 32, 32], generator: new Generator((ulong)seed)) * brightness;
        for (int i = 0; i < count; i++)
        {
            using var image = images[i];
            ImageFile.WritePng(Path.Combine(path, $"{i}.png"), image);
        }
        return path;
    }

    static Tensor ReadImages(string path) =>
        stack(Directory.GetFiles(path, "*.png").Order(StringComparer.Ordinal).Select(ImageFile.Read).ToList());
}
