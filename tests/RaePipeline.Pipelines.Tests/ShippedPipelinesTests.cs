using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaePipeline.Evaluation;
using RaePipeline.Host;
using RaePipeline.Host.Configuration;
using RaePipeline.Host.Running;
using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Pipelines.Tests;

/// <summary>
/// Every pipeline under pipelines/ validates. The paper's configurations point at released weights that are not on
/// this machine, so each runs against a stand-in models tree: the HuggingFace config.json of the B-size encoder it
/// names (the released architecture, transcribed from the HF model cards' configs), empty placeholder files for
/// weights (validation checks that they exist; it does not load them), statistics of the released shape (validation
/// reads them: (768, 16, 16), (768, 32, 32) at 512 px) and a data folder with one class sub-folder.
/// </summary>
public class ShippedPipelinesTests
{
    static readonly string PipelinesFolder = Path.Combine(RepositoryRoot.Path, "pipelines");

    public static TheoryData<string> Pipelines()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(PipelinesFolder, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            data.Add(Path.GetRelativePath(PipelinesFolder, file));
        return data;
    }

    static readonly Dictionary<string, string> EncoderConfigs = new()
    {
        ["dinov2"] = """{"model_type": "dinov2_with_registers", "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "mlp_ratio": 4, "patch_size": 14, "image_size": 518, "num_channels": 3, "num_register_tokens": 4, "layer_norm_eps": 1e-06, "layerscale_value": 1.0, "hidden_act": "gelu", "qkv_bias": true, "use_swiglu_ffn": false}""",
        ["siglip2"] = """{"model_type": "siglip", "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12, "patch_size": 16, "image_size": 256, "num_channels": 3, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-06}, "text_config": {"model_type": "siglip_text_model", "hidden_size": 768}}""",
        ["mae"] = """{"model_type": "vit_mae", "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "patch_size": 16, "image_size": 224, "num_channels": 3, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "qkv_bias": true, "mask_ratio": 0.75, "decoder_hidden_size": 512, "decoder_num_hidden_layers": 8, "decoder_num_attention_heads": 16, "decoder_intermediate_size": 2048}""",
    };

    [Theory]
    [MemberData(nameof(Pipelines))]
    public void Shipped_pipeline_validates(string relativePath)
    {
        var root = Path.Combine(Path.GetTempPath(), "rae-shipped-" + Guid.NewGuid().ToString("N"));
        try
        {
            var pipeline = Path.Combine(root, "pipelines", relativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(pipeline)!);
            File.Copy(Path.Combine(PipelinesFolder, relativePath), pipeline);
            var yaml = new YamlStream();
            yaml.Load(new StringReader(File.ReadAllText(pipeline)));
            var top = (YamlMappingNode)yaml.Documents[0].RootNode;
            StandInFiles(top, Path.GetDirectoryName(pipeline)!, relativePath.Contains("512") ? 32 : 16);

            using var services = HostServices.Create(LogLevel.Warning, ProgressReporter.Silent, _ => { });
            var runner = services.GetRequiredService<PipelineRunner>();
            var plan = runner.Plan(pipeline, []);
            plan.Jobs.Should().NotBeEmpty();
            foreach (var compare in Jobs(top, "compare"))
                EveryComparisonRunValidates(runner, compare, Path.GetDirectoryName(pipeline)!, relativePath);
            if (plan.Components.TryGetValue(PipelineRole.Encoder, out var encoder) && encoder.WeightsPath != null)
            {
                // The released B encoders give 768 channels on a 16 x 16 grid at 256 px (32 x 32 at 512 px).
                var latent = encoder.Description!.Latent!.Value;
                latent.Channels.Should().Be(768);
                latent.Height.Should().Be(relativePath.Contains("512") ? 32 : 16);
                plan.Components[PipelineRole.Denoiser].Description!.Latent.Should().Be(latent);
            }
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// Each run of a <c>compare</c> job validates: its pipeline with the job's <c>set</c>, its yardstick and the run's
    /// matrix values (whole blocks included). Overrides naming this run's folder (<c>{run_dir}</c>, weights the jobs
    /// before <c>compare</c> train) are left out: without them the runs start from random weights, which validates too.
    /// </summary>
    static void EveryComparisonRunValidates(PipelineRunner runner, YamlMappingNode compare, string folder, string relativePath)
    {
        var target = Path.Combine(folder, Scalar(compare, "pipeline")!);
        if (!File.Exists(target))
            File.Copy(Path.Combine(PipelinesFolder, Path.GetDirectoryName(relativePath)!, Scalar(compare, "pipeline")!), target);
        var shared = Items(compare, "set").Where(s => !s.Contains(CompareOptions.RunDirectoryPlaceholder, StringComparison.Ordinal)).ToList();
        if (Child(compare, "yardstick") is { } yardstick)
            shared.Add("feature_extractor=" + (yardstick is YamlScalarNode name ? $"{{ name: {name.Value} }}" : YamlText.Of(yardstick)));
        var matrix = ((YamlMappingNode)Child(compare, "matrix")!).Children
            .ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlSequenceNode)kv.Value).Children.ToList());
        var runs = MatrixRun.Expand(matrix);
        runs.Should().NotBeEmpty();
        foreach (var run in runs)
        {
            var overrides = PipelineOverride.Set(shared.Concat(run.Overrides));
            var act = () => runner.Plan(target, overrides);
            act.Should().NotThrow($"run '{run.Name}' of {relativePath}'s compare job validates");
        }
    }

    /// <summary>The option blocks of every entry of <paramref name="job"/> in the pipeline's job list.</summary>
    static IEnumerable<YamlMappingNode> Jobs(YamlMappingNode top, string job) =>
        (Child(top, "jobs") as YamlSequenceNode)?.Children.OfType<YamlMappingNode>()
            .Select(entry => Child(entry, job)).OfType<YamlMappingNode>() ?? [];

    static IEnumerable<string> Items(YamlNode node, string key) =>
        (Child(node, key) as YamlSequenceNode)?.Children.OfType<YamlScalarNode>().Select(s => s.Value!) ?? [];

    static YamlNode? Child(YamlNode node, string key) =>
        node is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    /// <summary>Creates what the pipeline's weights/statistics/data entries name: folders with configs, empty files.</summary>
    static void StandInFiles(YamlMappingNode top, string folder, int latentSide)
    {
        void File(string? relative)
        {
            if (relative == null) return;
            var path = Path.GetFullPath(Path.Combine(folder, relative));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            System.IO.File.WriteAllBytes(path, []);
        }
        foreach (var role in new[] { "decoder", "denoiser", "feature_extractor" })
            File(Scalar(top, role, "weights"));
        if (Scalar(top, "statistics") is { } statistics)
        {
            var path = Path.GetFullPath(Path.Combine(folder, statistics));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var variance = TorchSharp.torch.ones(768, latentSide, latentSide);
            using var released = new Latents.LatentStatistics(null, variance.alias());
            released.Save(path);
        }
        File(Scalar(top, "guidance", "guide", "weights"));
        if (Scalar(top, "encoder", "weights") is { } encoderFolder)
        {
            var path = Path.GetFullPath(Path.Combine(folder, encoderFolder));
            Directory.CreateDirectory(path);
            System.IO.File.WriteAllText(Path.Combine(path, "config.json"), EncoderConfigs[Scalar(top, "encoder", "name")!]);
        }
        // An image folder needs a class sub-folder; IDX files (MNIST, Fashion-MNIST) are found at run time.
        if (Scalar(top, "data", "source") == "folder" && Scalar(top, "data", "path") is { } data)
            Directory.CreateDirectory(Path.Combine(Path.GetFullPath(Path.Combine(folder, data)), "n01440764"));
    }

    static string? Scalar(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            if (Child(node, key) is not { } child) return null;
            node = child;
        }
        return (node as YamlScalarNode)?.Value;
    }
}
