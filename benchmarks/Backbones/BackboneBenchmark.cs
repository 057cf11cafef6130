using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;
using RaePipeline.FlowMatching;
using RaePipeline.Samplers.FlowMatching;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Benchmarks;

/// <summary>
/// The work ref_bench.py times, on one model: (a) a no-grad forward of batch B, (b) forward + backward + AdamW on
/// the flow-matching loss (fp32 master weights and optimizer state in every precision), (c) the Euler sample with
/// CFG on the shifted grid: [noise; noise], [labels; null], batch 2B per forward, guidance everywhere.
/// Inference (a, c) runs in an inference precision scope (weights cast once, as the sample job does); training in a
/// training scope (weights cast per step, gradients in fp32).
/// </summary>
sealed class BackboneBenchmark(BackboneBenchmarkOptions options, Action<string> log)
{
    public BackboneResult Run(string name, DiffusionTransformerSpec spec, nn.Module<Tensor, Tensor, Tensor, Tensor> module,
        Precision precision)
    {
        long batch = options.Batch;
        var (flopsForward, flopsTrain) = MatmulFlops.Of(spec, batch);
        var result = new BackboneResult
        {
            Name = name,
            Precision = precision,
            Params = module.parameters().Sum(p => p.numel()),
            FlopsFwd = flopsForward,
            FlopsTrain = flopsTrain,
        };
        using var generator = new Generator(0, torch.CPU);
        using var x = torch.randn(spec.Latent.WithBatch(batch), generator: generator);
        using var t = torch.rand([batch], generator: generator);
        using var y = torch.randint(0, spec.NumClasses, [batch], generator: generator);
        string tag = $"{name,-15} {precision.Name()}";

        module.eval();
        using (ComputePrecision.Use(precision, cacheWeights: true))
            result.FwdSeconds.AddRange(BenchmarkClock.Time(options.Warmup, options.Repeats, () =>
            {
                using var scope = NewDisposeScope();
                using var noGrad = torch.no_grad();
                module.forward(x, t, y);
            }));
        log($"  {tag} fwd   b{batch}: {Join(result.FwdSeconds, 1e3, "F0")} ms");

        result.TrainSeconds.AddRange(TrainSteps(spec, module, precision, y, generator));
        log($"  {tag} train b{batch}: {Join(result.TrainSeconds, 1e3, "F0")} ms");

        if (options.SampleRepeats > 0)
        {
            result.Sample = Sample(spec, module, precision, generator);
            log($"  {tag} sample {result.Sample.Mode}: total {Join(result.Sample.TotalSeconds, 1, "F1")} s, " +
                $"step median {1e3 * BenchmarkClock.Median(result.Sample.StepSeconds):F0} ms");
        }
        return result;
    }

    List<double> TrainSteps(DiffusionTransformerSpec spec, nn.Module module, Precision precision, Tensor y, Generator generator)
    {
        long batch = options.Batch;
        module.train();
        var shift = TimeShift.FromLatent(spec.Latent);
        using var optimizer = torch.optim.AdamW(module.parameters().Where(p => p.requires_grad), lr: 2e-4,
            beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0);
        using var z = torch.randn(spec.Latent.WithBatch(batch), generator: generator);
        using var precisionScope = ComputePrecision.Use(precision);
        var times = BenchmarkClock.Time(options.Warmup, options.TrainRepeats, () =>
        {
            using var scope = NewDisposeScope();
            var noise = torch.randn_like(z);
            var time = shift.Apply(torch.rand([batch]) * 0.999);
            var tb = time.view(-1, 1, 1, 1);
            var xt = (1 - tb) * z + tb * noise;
            var prediction = ((nn.Module<Tensor, Tensor, Tensor, Tensor>)module).forward(xt, time, y);
            var loss = (prediction - (noise - z)).square().mean([1, 2, 3]).mean();
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        });
        optimizer.zero_grad();
        return times;
    }

    SampleTiming Sample(DiffusionTransformerSpec spec, nn.Module<Tensor, Tensor, Tensor, Tensor> module, Precision precision,
        Generator generator)
    {
        module.eval();
        long batch = options.Batch;
        var denoiser = new DiffusionTransformerDenoiser(spec, module);   // not disposed: the module is the caller's
        var guided = new ClassifierFreeGuidance(denoiser, options.CfgScale, GuidanceInterval.Always);
        var sampler = new EulerSampler(new TimeGridSettings(options.Steps));
        using var grid = sampler.TimeGrid(spec.Latent);
        int evaluations = (int)grid.shape[0] - 1;
        using var noise = torch.randn(spec.Latent.WithBatch(batch), generator: generator);
        using var labels = torch.randint(0, spec.NumClasses, [batch], generator: generator);
        var (x, y) = GuidanceBatch.Double(noise, labels, spec.NumClasses);
        using var doubled = x;
        using var doubledLabels = y;
        using var precisionScope = ComputePrecision.Use(precision, cacheWeights: true);

        // one untimed step at the sampling batch (warm-up and run-time estimate), then full or first-K-steps runs
        double start = BenchmarkClock.Now();
        using (var twoPoints = grid[..2])
            RunSampler(sampler, guided, x, y, twoPoints, null);
        double estimate = (BenchmarkClock.Now() - start) * evaluations * options.SampleRepeats;
        int limit = options.SampleStepsLimit;
        int measured = limit > 0 && limit < evaluations && estimate > options.FullSampleMaxSeconds ? limit : evaluations;
        using var timedGrid = grid[..(measured + 1)];
        var totals = new List<double>();
        var steps = new List<double>();
        for (int r = 0; r < options.SampleRepeats; r++)
        {
            double total = BenchmarkClock.Now();
            RunSampler(sampler, guided, x, y, timedGrid, steps);
            totals.Add(BenchmarkClock.Now() - total);
        }
        var (flopsDoubled, _) = MatmulFlops.Of(spec, 2 * batch);
        return new SampleTiming(totals, steps, measured, evaluations, options.SampleRepeats, evaluations * flopsDoubled);
    }

    static void RunSampler(EulerSampler sampler, ClassifierFreeGuidance guided, Tensor x, Tensor y, Tensor grid, List<double>? stepSeconds)
    {
        using var scope = NewDisposeScope();
        double step = BenchmarkClock.Now();
        sampler.Sample(guided.Field, x, y, grid, onStep: (_, _) =>
        {
            double now = BenchmarkClock.Now();
            stepSeconds?.Add(now - step);
            step = now;
        });
    }

    static string Join(IEnumerable<double> values, double factor, string format) =>
        string.Join(", ", values.Select(v => (factor * v).ToString(format, System.Globalization.CultureInfo.InvariantCulture)));
}
