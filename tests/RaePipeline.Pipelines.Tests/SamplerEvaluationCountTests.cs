using System.Text.Json.Nodes;

namespace RaePipeline.Pipelines.Tests;

/// <summary>The sample job records the velocity evaluations each image cost (`sample/nfe`), fixed-grid and adaptive.</summary>
public class SamplerEvaluationCountTests
{
    const string TinyPipeline = """
        device: cpu
        seed: 3
        encoder:
          name: dinov2
          options: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, mlp_ratio: 2, patch_size: 4, image_size: 16, num_register_tokens: 4 }
        decoder:
          name: vit-decoder
          options: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, patch_size: 4 }
        denoiser:
          name: dit-dh
          options: { hidden_size: [16, 24], depth: [1, 1], num_heads: [2, 2], num_classes: 3 }
        sampler:
          name: rk4
          options: { num_steps: 4 }
        """;

    static double Nfe(Rae rae, string pipeline, string run, params string[] overrides)
    {
        rae.Run(["sample", pipeline, "--run-dir", run, "--num-images", "3", "--batch-size", "2", "--write-pngs", "false", .. overrides]);
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!.AsObject();
        return metrics["sample/nfe"]!.GetValue<double>();
    }

    [Fact]
    public void Sample_records_the_evaluations_per_image()
    {
        using var rae = new Rae();
        var pipeline = rae.Write("tiny.yaml", TinyPipeline);
        Nfe(rae, pipeline, Path.Combine(rae.Folder, "rk4")).Should().Be(12, "rk4: 4 evaluations on each of 3 steps");
        var adaptive = Nfe(rae, pipeline, Path.Combine(rae.Folder, "dopri5"), "--set", "sampler.name=dopri5");
        adaptive.Should().BeGreaterThanOrEqualTo(8, "dopri5: a start, an initial-step probe and 6 per step");
        adaptive.Should().BeLessThanOrEqualTo(1000, "within the default max_evaluations");
    }
}
