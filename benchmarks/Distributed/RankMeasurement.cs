using System.Diagnostics;
using System.Text.Json;
using RaePipeline.Backbones.DiffusionTransformers;
using RaePipeline.Data;
using RaePipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Distributed.Benchmarks;

/// <summary>What rank 0 reports of one run: all-reduce timings per size and the training steps' timings.</summary>
sealed record RankReport(int WorldSize, int Threads, int Batch, long Parameters, double[] AllReduceSeconds, double[] StepSeconds,
    double[] AveragingSeconds, string Backend)
{
    public const string Marker = "RESULT ";

    public string ToLine() => Marker + JsonSerializer.Serialize(this);

    /// <summary>The last report in <paramref name="output"/> (a line may start with terminal control characters under mpirun).</summary>
    public static RankReport? FromOutput(string output) => output.Split('\n')
        .Where(l => l.Contains(Marker, StringComparison.Ordinal))
        .Select(l => JsonSerializer.Deserialize<RankReport>(l[(l.IndexOf(Marker, StringComparison.Ordinal) + Marker.Length)..]))
        .LastOrDefault();
}

/// <summary>
/// One rank of a benchmark run: times all-reduces of each size (median of a few, after a warm-up), then data-parallel
/// training steps of LightningDiT-S on random 768 x 16 x 16 latents (the reference latent; <c>--depth</c> shortens
/// it) as the <c>train</c> job takes them: each rank its slice of a global batch of <c>--batch</c> x ranks (weak
/// scaling: the global batch grows with the ranks), weights broadcast from rank 0, per-sample noise and time streams,
/// flow-matching loss, backward, gradient averaging in 25 MiB buckets, the loss averaged over the ranks, clipping at
/// norm 1, AdamW, the EMA update. (Reading latents is left out: it is the same per sample on any number of ranks.)
/// </summary>
static class RankMeasurement
{
    public static RankReport Run(ProcessGroup group, BenchmarkOptions options)
    {
        torch.set_num_threads(options.Threads);
        var allReduce = options.Sizes.Select(bytes => group.IsDistributed ? TimeAllReduce(group, bytes) : 0).ToArray();

        var spec = DiffusionTransformersRegistrar.ReferenceSpec(DiffusionTransformerKind.LightningDiT,
            SizePresets.Backbone("S") with { Depth = options.Depth }, null);
        torch.manual_seed(0);
        using var module = DiffusionTransformerDenoiser.CreateModule(spec);
        ModuleReplicas.Broadcast(group, module);
        var parameters = module.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = torch.optim.AdamW(parameters, lr: 2e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0);
        using var buckets = new GradientBuckets(group, parameters);
        using var ema = new ExponentialMovingAverage(module, 0.9995);
        using var generator = new Generator(1000 + (ulong)group.Rank, torch.CPU);
        var noiseStream = new SampleRandomness(0, "train-noise");
        var timeStream = new SampleRandomness(0, "train-time");
        var slice = BatchSlice.Of(options.Batch * group.WorldSize, group);
        double shift = Math.Sqrt(spec.Latent.Elements / 4096.0);
        var steps = new List<double>();
        var averaging = new List<double>();
        module.train();
        for (int step = 0; step < options.Warmup + options.Steps; step++)
        {
            using var scope = NewDisposeScope();
            group.Barrier();
            var clock = Stopwatch.StartNew();
            var z = torch.randn([slice.Count, spec.InChannels, spec.InputSize, spec.InputSize], generator: generator);
            var y = torch.randint(0, spec.NumClasses, [slice.Count], generator: generator);
            long first = slice.FirstSample(step);
            var noise = noiseStream.Normal(first, slice.Count, z.shape[1..]);
            var u = timeStream.Uniform(first, slice.Count) * 0.999;
            var time = shift * u / (1 + (shift - 1) * u);
            var tb = time.view(-1, 1, 1, 1);
            var prediction = module.forward((1 - tb) * z + tb * noise, time, y);
            var loss = (prediction - (noise - z)).square().mean([1, 2, 3]).mean();
            optimizer.zero_grad();
            loss.backward();
            buckets.Average(slice);
            var globalLoss = torch.tensor(new[] { loss.item<float>() * slice.Weight });
            group.AllReduce(globalLoss);
            torch.nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
            ema.Update(module);
            // The step of the slowest rank is the step of the run.
            var seconds = torch.tensor(new[] { clock.Elapsed.TotalSeconds });
            group.AllReduce(seconds, ReduceOp.Max);
            if (step < options.Warmup) continue;
            steps.Add(seconds.item<double>());
            averaging.Add(buckets.LastDuration.TotalSeconds);
        }
        return new RankReport(group.WorldSize, options.Threads, options.Batch, parameters.Sum(p => p.numel()), allReduce,
            [.. steps], [.. averaging], group.Backend);
    }

    /// <summary>Median seconds of an all-reduce of <paramref name="bytes"/> bytes of float32 (after one warm-up).</summary>
    static double TimeAllReduce(ProcessGroup group, long bytes)
    {
        using var buffer = torch.ones(bytes / 4);
        int repeats = (int)Math.Clamp((256L << 20) / bytes, 3, 50);
        var times = new List<double>();
        for (int i = 0; i <= repeats; i++)
        {
            group.Barrier();
            var clock = Stopwatch.StartNew();
            group.AllReduce(buffer);
            if (i > 0) times.Add(clock.Elapsed.TotalSeconds);
        }
        return times.Order().ElementAt(times.Count / 2);
    }
}
