// Decode throughput (images/s) of RAE's ViT decoder presets, randomly initialized, on DINOv2-B latents at 256 px
// (768 x 16 x 16 -> 3 x 256 x 256), in fp32 and bf16 (the inference precision scope the sample and reconstruct jobs
// open).
// Usage: dotnet run -c Release --project benchmarks/DecoderThroughput [-- --batch 8 --iterations 5 --threads N
//        --presets ViT-B,ViT-L,ViT-XL --precision both]
using System.Globalization;
using RaePipeline.Abstractions;
using RaePipeline.Benchmarks;
using RaePipeline.Decoders.VitDecoder;
using RaePipeline.Pipeline;
using static TorchSharp.torch;

var arguments = new BenchmarkArguments(args);
int batch = arguments.Int("batch", 8), iterations = arguments.Int("iterations", 5), threads = arguments.Int("threads", 0);
var presets = arguments.List("presets") ?? ["ViT-B", "ViT-L", "ViT-XL"];
var precisions = BenchmarkPrecisions.Parse(arguments.String("precision"), [Precision.Fp32, Precision.Bf16]);
arguments.RejectUnknown();
if (threads > 0) set_num_threads(threads);
ProcessHeap.KeepFreedMemory();   // as the rae host does
var latent = new LatentShape(768, 16, 16);
var context = new ComponentContext
{
    Device = CPU, Seed = 0, BaseDirectory = Environment.CurrentDirectory,
    EncoderLatent = latent, EncoderImageNormalization = ImageNormalization.ImageNet,
};

Console.WriteLine($"batch {batch}, {iterations} timed iterations after 1 warm-up, {get_num_threads()} torch threads, " +
                  $"{Environment.ProcessorCount} logical cores, CPU bf16 instructions: {PrecisionSupport.CpuHasBf16Instructions?.ToString() ?? "unknown"}");
Console.WriteLine($"reference: fp32 matmul 2048^3 runs at {BenchmarkClock.MatmulRate(ScalarType.Float32) / 1e9:F0} GFLOP/s right now (the machine may be shared)");
using var generator = new Generator(0);
using var latents = randn(latent.WithBatch(batch), generator: generator);
foreach (var preset in presets)
{
    using var decoder = VitDecoder.Create(context, new VitDecoderOptions { Preset = preset });
    double gflop = DecoderGflop(decoder.Architecture) * batch;
    foreach (var precision in precisions)
    {
        using var scope = ComputePrecision.Use(precision, cacheWeights: true);
        var seconds = BenchmarkClock.Time(1, iterations, () =>
        {
            using var noGrad = no_grad();
            using var images = decoder.Decode(latents);
        });
        double median = BenchmarkClock.Median(seconds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{preset,-7} ({decoder.Architecture.ParameterCount / 1e6:F0}M) {precision.Name()} {latent} -> {decoder.OutputSize}px  " +
            $"median {median * 1000,7:F0} ms/batch  {batch / median,6:F1} images/s  (best {batch / seconds.Min():F1}; about {gflop / median:F0} GFLOP/s)"));
    }
}

// Matmul FLOPs of one image: the latent projection, the layers (with the CLS token) and the pixel prediction.
static double DecoderGflop(VitDecoderArchitecture a)
{
    double tokens = a.Tokens + 1, d = a.Width, m = a.MlpWidth;
    double perLayer = 2 * tokens * (4 * d * d + 2 * d * m) + 4 * tokens * tokens * d;
    return (2 * a.Tokens * a.Latent.Channels * d + a.Layers * perLayer + 2 * tokens * d * a.PatchSize * a.PatchSize * 3) / 1e9;
}
