using System.Diagnostics;
using System.Globalization;
using RaePipeline.Backbones.Benchmarks;
using RaePipeline.Backbones.DiffusionTransformers;
using TorchSharp;
using static TorchSharp.torch;

// Usage: dotnet run -c Release --project benchmarks/Backbones -- [--batch 8] [--repeats 3] [--train-repeats 3]
//        [--warmup 1] [--threads N] [--models DiTDH-S,DiTDH-B,LightningDiT-S,LightningDiT-B]
var options = BenchmarkOptions.Parse(args);
torch.set_num_threads(options.Threads);
Console.WriteLine($"backbones bench: TorchSharp {typeof(torch).Assembly.GetName().Version}, threads {torch.get_num_threads()}, " +
                  $"batch {options.Batch}, {Environment.ProcessorCount} CPUs");

double peak = MatmulPeak();
Console.WriteLine($"fp32 torch.mm 2048^3: {peak / 1e9:F1} GFLOP/s");

var specs = new (string Name, DiffusionTransformerKind Kind, string Preset)[]
{
    ("DiTDH-S", DiffusionTransformerKind.DiTDH, "S"),
    ("DiTDH-B", DiffusionTransformerKind.DiTDH, "B"),
    ("LightningDiT-S", DiffusionTransformerKind.LightningDiT, "S"),
    ("LightningDiT-B", DiffusionTransformerKind.LightningDiT, "B"),
};
var results = new List<string>();
foreach (var (name, kind, preset) in specs.Where(s => options.Models is null || options.Models.Contains(s.Name)))
{
    var spec = DiffusionTransformersRegistrar.ReferenceSpec(kind, SizePresets.Backbone(preset),
        kind == DiffusionTransformerKind.DiTDH ? SizePresets.Head(SizePresets.DefaultHead) : null);
    results.Add(BenchModel(name, spec));
}
Console.WriteLine($"fp32 torch.mm 2048^3 at end: {MatmulPeak() / 1e9:F1} GFLOP/s");
Console.WriteLine();
Console.WriteLine($"Results (fp32, batch {options.Batch}, {options.Threads} threads; ms = median; MFU vs {peak / 1e9:F1} GFLOP/s measured matmul):");
Console.WriteLine($"{"model",-15} {"params",8} {"GF fwd",9} {"fwd ms",9} {"MFU",6} {"train ms",9} {"MFU",6}");
foreach (var line in results) Console.WriteLine(line);
return;

string BenchModel(string name, DiffusionTransformerSpec spec)
{
    long batch = options.Batch;
    using var module = DiffusionTransformerDenoiser.CreateModule(spec);
    KitStyleWeights.Apply(module, seed: 0);
    long parameters = module.parameters().Sum(p => p.numel());
    var (flopsForward, flopsTrain) = MatmulFlops.Of(spec, batch);
    var generator = new Generator(0, torch.CPU);
    using var x = torch.randn([batch, spec.InChannels, spec.InputSize, spec.InputSize], generator: generator);
    using var t = torch.rand([batch], generator: generator);
    using var y = torch.randint(0, spec.NumClasses, [batch], generator: generator);

    // (a) forward without gradients
    module.eval();
    var forwardTimes = Time(options.Warmup, options.Repeats, () =>
    {
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        module.forward(x, t, y);
    });
    Console.WriteLine($"  {name,-15} fwd   b{batch}: {string.Join(", ", forwardTimes.Select(s => (1e3 * s).ToString("F0")))} ms");

    // (b) forward + backward + AdamW step on the flow-matching loss (official optimizer settings)
    module.train();
    double shift = Math.Sqrt(spec.Latent.Elements / 4096.0);
    using var optimizer = torch.optim.AdamW(module.parameters().Where(p => p.requires_grad), lr: 2e-4,
        beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0);
    using var z = torch.randn([batch, spec.InChannels, spec.InputSize, spec.InputSize], generator: generator);
    var trainTimes = Time(options.Warmup, options.TrainRepeats, () =>
    {
        using var scope = NewDisposeScope();
        var noise = torch.randn_like(z);
        var u = torch.rand([batch]) * 0.999;
        var time = shift * u / (1 + (shift - 1) * u);
        var tb = time.view(-1, 1, 1, 1);
        var xt = (1 - tb) * z + tb * noise;
        var prediction = module.forward(xt, time, y);
        var loss = (prediction - (noise - z)).square().mean([1, 2, 3]).mean();
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    });
    Console.WriteLine($"  {name,-15} train b{batch}: {string.Join(", ", trainTimes.Select(s => (1e3 * s).ToString("F0")))} ms");
    optimizer.zero_grad();

    double forwardSeconds = Median(forwardTimes), trainSeconds = Median(trainTimes);
    return string.Create(CultureInfo.InvariantCulture,
        $"{name,-15} {parameters / 1e6,7:F1}M {flopsForward / 1e9,9:F1} {1e3 * forwardSeconds,9:F1} {100 * flopsForward / forwardSeconds / peak,5:F1}% " +
        $"{1e3 * trainSeconds,9:F1} {100 * flopsTrain / trainSeconds / peak,5:F1}%");
}

static List<double> Time(int warmup, int repeats, Action step)
{
    for (int i = 0; i < warmup; i++) step();
    var times = new List<double>();
    for (int i = 0; i < repeats; i++)
    {
        var watch = Stopwatch.StartNew();
        step();
        times.Add(watch.Elapsed.TotalSeconds);
    }
    return times;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    int n = sorted.Count;
    return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

// fp32 matmul FLOP/s of this process: median of 10 timed 2048^3 products after 2 warm-ups
static double MatmulPeak()
{
    const long n = 2048;
    using var a = torch.randn(n, n);
    using var b = torch.randn(n, n);
    var times = Time(2, 10, () => { using var c = torch.mm(a, b); });
    return 2.0 * n * n * n / Median(times);
}

sealed record BenchmarkOptions(int Batch, int Repeats, int TrainRepeats, int Warmup, int Threads, HashSet<string>? Models)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--") || i + 1 >= args.Length)
                throw new ArgumentException($"expected '--name value' pairs, found '{args[i]}'");
            values[args[i][2..]] = args[++i];
        }
        int Int(string key, int fallback) => values.Remove(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var options = new BenchmarkOptions(Int("batch", 8), Int("repeats", 3), Int("train-repeats", 3), Int("warmup", 1),
            Int("threads", Environment.ProcessorCount),
            values.Remove("models", out var models) ? models.Split(',', StringSplitOptions.TrimEntries).ToHashSet() : null);
        if (values.Count > 0) throw new ArgumentException($"unknown options: {string.Join(", ", values.Keys.Select(k => "--" + k))}");
        return options;
    }
}
