// Encode throughput (images/s) of the B-size encoders RAE uses, randomly initialized with the released
// architectures: DINOv2-B with registers at 224, SigLIP2-B/16 at 256, MAE-B/16 at 256, in fp32 and bf16 (the
// inference precision scope the encode and stats jobs open). Inputs are 256-px images, so DINOv2 includes RAE's
// bicubic resize to 224.
// Usage: dotnet run -c Release --project benchmarks/EncoderThroughput [-- --batch 8 --iterations 5 --threads N --precision both]
using System.Globalization;
using RaePipeline.Abstractions;
using RaePipeline.Benchmarks;
using RaePipeline.Encoders.DinoV2;
using RaePipeline.Encoders.Mae;
using RaePipeline.Encoders.SigLip2;
using RaePipeline.Pipeline;
using static TorchSharp.torch;

var arguments = new BenchmarkArguments(args);
int batch = arguments.Int("batch", 8), iterations = arguments.Int("iterations", 5), threads = arguments.Int("threads", 0);
var precisions = BenchmarkPrecisions.Parse(arguments.String("precision"), [Precision.Fp32, Precision.Bf16]);
arguments.RejectUnknown();
if (threads > 0) set_num_threads(threads);
ProcessHeap.KeepFreedMemory();   // as the rae host does
var context = new ComponentContext { Device = CPU, Seed = 0, BaseDirectory = Environment.CurrentDirectory };

var encoders = new (string Name, Func<IEncoder> Create)[]
{
    ("DINOv2-B/14 + 4 registers @224", () => DinoV2Encoder.Create(context, new DinoV2Options
    {
        HiddenSize = 768, NumHiddenLayers = 12, NumAttentionHeads = 12, PatchSize = 14, ImageSize = 518, MlpRatio = 4,
        NumRegisterTokens = 4, InputSize = 224,
    })),
    ("SigLIP2-B/16 @256", () => SigLip2Encoder.Create(context, new SigLip2Options
    {
        HiddenSize = 768, NumHiddenLayers = 12, NumAttentionHeads = 12, PatchSize = 16, ImageSize = 256, IntermediateSize = 3072,
        InputSize = 256,
    })),
    ("MAE-B/16 @256", () => MaeEncoder.Create(context, new MaeOptions
    {
        HiddenSize = 768, NumHiddenLayers = 12, NumAttentionHeads = 12, PatchSize = 16, ImageSize = 224, IntermediateSize = 3072,
        InputSize = 256,
    })),
};

Console.WriteLine($"batch {batch}, {iterations} timed iterations after 1 warm-up, {get_num_threads()} torch threads, " +
                  $"{Environment.ProcessorCount} logical cores, CPU bf16 instructions: {PrecisionSupport.CpuHasBf16Instructions?.ToString() ?? "unknown"}");
Console.WriteLine($"reference: fp32 matmul 2048^3 runs at {BenchmarkClock.MatmulRate(ScalarType.Float32) / 1e9:F0} GFLOP/s right now (the machine may be shared)");
using var generator = new Generator(0);
using var images = rand([batch, 3, 256, 256], generator: generator);
foreach (var (name, create) in encoders)
{
    using var encoder = create();
    double gflop = TransformerGflop(encoder) * batch;
    foreach (var precision in precisions)
    {
        using var scope = ComputePrecision.Use(precision, cacheWeights: true);
        var seconds = BenchmarkClock.Time(1, iterations, () => { using var latents = encoder.Encode(images); });
        double median = BenchmarkClock.Median(seconds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-34} {precision.Name()} latent {encoder.LatentShape,-14} median {median * 1000,7:F0} ms/batch  " +
            $"{batch / median,6:F1} images/s  (best {batch / seconds.Min():F1}; about {gflop / median:F0} GFLOP/s)"));
    }
}

// Matmul FLOPs of one image through 12 ViT-B layers (QKV/out projections, MLP, attention) plus the patch embedding.
static double TransformerGflop(IEncoder encoder)
{
    double d = 768, m = 3072, layers = 12;
    double patches = encoder.LatentShape.Height * encoder.LatentShape.Width;
    double tokens = patches + (encoder is DinoV2Encoder ? 5 : encoder is MaeEncoder ? 1 : 0);
    double perLayer = 2 * tokens * (4 * d * d + 2 * d * m) + 4 * tokens * tokens * d;
    double patchSide = encoder.InputSize / encoder.LatentShape.Height;
    return (layers * perLayer + 2 * patches * 3 * patchSide * patchSide * d) / 1e9;
}
