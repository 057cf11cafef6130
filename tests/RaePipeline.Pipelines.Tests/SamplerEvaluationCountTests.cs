using System.Text.Json.Nodes;

namespace RaePipeline.Pipelines.Tests;

/// <summary>The sample job records the velocity evaluations each image cost (`sample/nfe`), fixed-grid and adaptive.</summary>
public class SamplerEvaluationCountTests
{
    /// <summary>The tiny pipeline with rk4 on 3 steps (4 grid points).</summary>
    static readonly string TinyPipeline = TinyPipelines.Components.Replace("name: euler\n  options: { num_steps: 2 }", "name: rk4\n  options: { num_steps: 4 }");

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
