using System.Text.Json.Nodes;
using RaePipeline.Weights;
using TorchSharp;

namespace RaePipeline.Pipelines.Tests;

/// <summary>
/// <c>stats</c>, <c>reconstruct</c>, <c>sample</c>, <c>encode</c> and <c>eval</c> under <c>mpirun -np 2</c> split
/// their batches over the ranks and write what one process writes: the sample npz, the latents and the
/// reconstructions byte for byte, the statistics to 1e-10, the eval metrics to 1e-9. Both runs use one torch thread
/// per process, so each batch is computed in the same float order.
/// </summary>
public class RankSplitJobsTests
{
    static string Pipeline(string encoded) => TinyPipelines.Components + $$"""
        guidance: { method: cfg, scale: 1.5, interval: [0.0, 1.0] }
        jobs:
          - stats: { batch_size: 2 }
          - reconstruct: { limit: 5, batch_size: 2 }
          - sample: { num_images: 7, batch_size: 2, write_pngs: false }
          - encode: { input: images.npz, output: {{encoded}}, batch_size: 2 }
          - eval: { reference: data, features: encoder, batch_size: 2, kid_subsets: 2, kid_subset_size: 4, probe: { enabled: false } }
        """;

    [MpiFact]
    public void Two_ranks_write_what_one_process_writes()
    {
        using var rae = new Rae();
        using (var images = torch.randint(0, 256, [5, 16, 16, 3], dtype: torch.uint8, generator: new torch.Generator(9)))
            NpzFile.Write(Path.Combine(rae.Folder, "images.npz"), [new("arr_0", images)]);
        var environment = new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "1" };
        string RunWith(int ranks)
        {
            var pipeline = rae.Write($"p{ranks}.yaml", Pipeline($"latents{ranks}.safetensors"));
            var folder = Path.Combine(rae.Folder, $"run{ranks}");
            var result = MpiLaunch.Run(ranks, DistributedRunTests.RaeAssembly, ["run", pipeline, "--run-dir", folder], TimeSpan.FromMinutes(4), environment);
            result.ExitCode.Should().Be(0, result.Output);
            return folder;
        }
        var one = RunWith(1);
        var two = RunWith(2);

        var metrics = new[] { one, two }.Select(f => JsonNode.Parse(File.ReadAllText(Path.Combine(f, "metrics.json")))!.AsObject()).ToArray();
        metrics[1]["run/world_size"]!.GetValue<double>().Should().Be(2);
        foreach (var file in new[] { "samples/samples.npz", "reconstruct/reconstructions.npz", "reconstruct/originals.npz" })
            File.ReadAllBytes(Path.Combine(two, file)).Should().Equal(File.ReadAllBytes(Path.Combine(one, file)), file);
        File.ReadAllBytes(Path.Combine(rae.Folder, "latents2.safetensors")).Should().Equal(File.ReadAllBytes(Path.Combine(rae.Folder, "latents1.safetensors")));
        Directory.Exists(Path.Combine(two, "samples", "chunks")).Should().BeFalse();
        File.ReadAllText(Path.Combine(two, "run.log")).Should().Contain("split over 2 ranks");

        var statistics = new[] { one, two }.Select(f => SafeTensorsFile.Read(Path.Combine(f, "stats", "stat.safetensors"))).ToArray();
        statistics[0].Keys.Should().BeEquivalentTo(statistics[1].Keys);
        foreach (var key in statistics[0].Keys)
            statistics[1][key].to(torch.float64).sub(statistics[0][key].to(torch.float64)).abs().max().item<double>().Should().BeLessThan(1e-10, key);

        var compared = metrics[0].Select(p => p.Key).Where(k => k.StartsWith("stats/") || k.StartsWith("reconstruct/") || k.StartsWith("eval/") || k == "sample/images")
            .Where(k => !k.Contains("second")).ToList();
        compared.Should().Contain(["stats/var_mean", "reconstruct/psnr", "eval/fd_dinov2", "eval/kd_dinov2", "eval/precision", "eval/num_samples"]);
        foreach (var key in compared)
        {
            double expected = metrics[0][key]!.GetValue<double>();
            metrics[1][key]!.GetValue<double>().Should().BeApproximately(expected, 1e-9 * Math.Max(1, Math.Abs(expected)), key);
        }
    }
}
