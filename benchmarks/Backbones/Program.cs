using System.Globalization;
using System.Text.Json;
using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;
using RaePipeline.Benchmarks;
using RaePipeline.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

// The backbones' speed beside shared/bench/ref_bench.py: same models, batch, work, timing and JSON keys.
// Usage: see BackboneBenchmarkOptions.Usage.
BackboneBenchmarkOptions options;
try
{
    options = BackboneBenchmarkOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"backbones bench: {e.Message}\nusage: {BackboneBenchmarkOptions.Usage}");
    return 2;
}
torch.set_num_threads(options.Threads);
BenchmarkClock.ProcessCpuTime = options.CpuClock;
bool heapKept = ProcessHeap.KeepFreedMemory();
void Log(string line) => Console.WriteLine(line);
Log(string.Create(CultureInfo.InvariantCulture,
    $"backbones bench: TorchSharp {typeof(torch).Assembly.GetName().Version}, threads {torch.get_num_threads()}, batch {options.Batch}, " +
    $"{Environment.ProcessorCount} CPUs, bf16 instructions: {PrecisionSupport.CpuHasBf16Instructions?.ToString() ?? "unknown"}, " +
    $"freed memory kept in the process: {heapKept}, clock: {(options.CpuClock ? "process CPU time" : "wall time")}"));

double peak = BenchmarkClock.MatmulRate(ScalarType.Float32);
Log($"fp32 torch.mm 2048^3: {peak / 1e9:F1} GFLOP/s");
double? bf16Peak = null;
if (options.Precisions.Contains(Precision.Bf16))
{
    // Without bf16 instructions a 2048^3 bf16 matmul takes about a minute: measure a smaller one.
    long n = PrecisionSupport.CpuHasBf16Instructions == false ? 256 : 2048;
    bf16Peak = BenchmarkClock.MatmulRate(ScalarType.BFloat16, n, repeats: 3);
    Log($"bf16 torch.mm {n}^3: {bf16Peak / 1e9:F1} GFLOP/s");
}

var specs = new (string Name, DiffusionTransformerKind Kind, string Preset)[]
{
    ("DiTDH-S", DiffusionTransformerKind.DiTDH, "S"),
    ("DiTDH-B", DiffusionTransformerKind.DiTDH, "B"),
    ("LightningDiT-S", DiffusionTransformerKind.LightningDiT, "S"),
    ("LightningDiT-B", DiffusionTransformerKind.LightningDiT, "B"),
};
var unknown = options.Models?.Except(specs.Select(s => s.Name)).ToList() ?? [];
if (unknown.Count > 0)
{
    Console.Error.WriteLine($"backbones bench: unknown models {string.Join(", ", unknown)} (known: {string.Join(", ", specs.Select(s => s.Name))})");
    return 2;
}
var bench = new BackboneBenchmark(options, Log);
var results = new List<BackboneResult>();
foreach (var (name, kind, preset) in specs.Where(s => options.Models is null || options.Models.Contains(s.Name)))
{
    var spec = DiffusionTransformersRegistrar.ReferenceSpec(kind, SizePresets.Backbone(preset),
        kind == DiffusionTransformerKind.DiTDH ? SizePresets.Head(SizePresets.DefaultHead) : null);
    using var module = DiffusionTransformerDenoiser.CreateModule(spec);
    KitStyleWeights.Apply(module, seed: 0);
    foreach (var precision in options.Precisions)
    {
        if (options.Profile) ForwardProfile.Run(name, spec, module, options.Batch, precision, options.Repeats, Log);
        else results.Add(bench.Run(name, spec, module, precision));
    }
}
if (options.Profile) return 0;
double peakEnd = BenchmarkClock.MatmulRate(ScalarType.Float32);
Log($"fp32 torch.mm 2048^3 at end: {peakEnd / 1e9:F1} GFLOP/s");

Log("");
Log($"Results (batch {options.Batch}, {options.Threads} threads; ms = median; MFU = matmul FLOPs / time / {peak / 1e9:F1} GFLOP/s, " +
    "the fp32 matmul measured at start, in every precision):");
Log($"{"model",-15} {"prec",4} {"params",8} {"GF fwd",9} {"fwd ms",9} {"MFU",6} {"train ms",9} {"MFU",6} {"sample ms",10} {"ms/step",9} {"MFU",6}  sample");
foreach (var r in results)
{
    var s = r.Sample;
    Log(string.Create(CultureInfo.InvariantCulture,
        $"{r.Name,-15} {r.Precision.Name(),4} {r.Params / 1e6,7:F1}M {r.FlopsFwd / 1e9,9:F1} {r.FwdMs,9:F1} {100 * r.FlopsFwd / (r.FwdMs / 1e3) / peak,5:F1}% " +
        $"{r.TrainMs,9:F1} {100 * r.FlopsTrain / (r.TrainMs / 1e3) / peak,5:F1}% " +
        $"{(s is null ? "-" : s.Milliseconds.ToString("F0", CultureInfo.InvariantCulture)),10} " +
        $"{(s is null ? "-" : (1e3 * BenchmarkClock.Median(s.StepSeconds)).ToString("F1", CultureInfo.InvariantCulture)),9} " +
        $"{(s is null ? "-" : (100 * s.Flops / (s.Milliseconds / 1e3) / peak).ToString("F1", CultureInfo.InvariantCulture) + "%"),6}  " +
        $"{s?.Mode ?? "not run"}"));
}
Log($"(GF fwd = analytic matmul GFLOP of one batch-{options.Batch} forward; sample = {options.Steps}-point shifted grid, " +
    $"CFG batch {2 * options.Batch} per forward, {options.Steps - 1} NFE)");

if (options.Json is { } jsonPath)
{
    var document = new Dictionary<string, object?>
    {
        ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString(),
        ["threads"] = options.Threads,
        ["clock"] = options.CpuClock ? "cpu" : "wall",
        ["cpu_bf16_instructions"] = PrecisionSupport.CpuHasBf16Instructions,
        ["matmul_gflops"] = peak / 1e9,
        ["matmul_gflops_end"] = peakEnd / 1e9,
        ["matmul_bf16_gflops"] = bf16Peak / 1e9,
        ["batch"] = options.Batch,
        ["steps"] = options.Steps,
        ["warmup"] = options.Warmup,
        ["repeats"] = options.Repeats,
        ["train_repeats"] = options.TrainRepeats,
        ["sample_repeats"] = options.SampleRepeats,
        ["sample_steps_limit"] = options.SampleStepsLimit,
        ["full_sample_max_s"] = options.FullSampleMaxSeconds,
        ["cfg_scale"] = options.CfgScale,
        ["results"] = results.Select(r => r.ToJson(peak)).ToList(),
    };
    File.WriteAllText(jsonPath, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    Log($"wrote {jsonPath}");
}
return 0;
