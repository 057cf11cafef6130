using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaePipeline.Benchmarks;
using RaePipeline.Host;
using RaePipeline.Pipeline;

// Trains a small model through `rae run` in this process and prints VmRSS at every log line of the train job
// (default: every 100 of 1000 steps). Flat memory means RSS at the last step is about RSS at step 100.
//   dotnet run --project benchmarks/TrainingMemory -c Release -- [--steps 1000] [--log-every 100] [--batch-size 16]
//       [--precision fp32|bf16] [--latent-cache true|false] [--run-dir PATH]
var arguments = new BenchmarkArguments(args);
int steps = arguments.Int("steps", 1000);
int logEvery = arguments.Int("log-every", 100);
int batchSize = arguments.Int("batch-size", 16);
string precision = arguments.String("precision") ?? "fp32";
bool latentCache = (arguments.String("latent-cache") ?? "false") == "true";
string runDirectory = arguments.String("run-dir") ?? Path.Combine(Path.GetTempPath(), "rae-training-memory-" + Guid.NewGuid().ToString("N"));
arguments.RejectUnknown();

// DiT^DH on a tiny DINOv2-architecture encoder (random, frozen) over 32 px synthetic images: small enough for
// thousands of steps on a CPU, with every part of the train job (data, encoding, loss, AdamW, EMA, logging).
var pipeline = Path.Combine(runDirectory, "training-memory.yaml");
Directory.CreateDirectory(runDirectory);
File.WriteAllText(pipeline, $$"""
    device: cpu
    seed: 0
    precision: {{precision}}
    encoder:
      name: dinov2
      options: { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, mlp_ratio: 4, patch_size: 4, image_size: 32, num_register_tokens: 4 }
    denoiser:
      name: dit-dh
      options: { hidden_size: [64, 128], depth: [2, 1], num_heads: [4, 4], num_classes: 4 }
    data: { source: synthetic, image_size: 32, num_classes: 4, images_per_class: 64{{(latentCache ? ", latent_cache: latents" : "")}} }
    jobs:
      - train: { steps: {{steps}}, batch_size: {{batchSize}}, log_every: {{logEvery}}, checkpoint_every: 0, schedule: { type: constant, lr: 5.0e-4 } }
    """);

var memory = new StepMemoryLog();
double startMiB = ProcessMemory.ResidentMiB();
var error = new StringWriter();
int exit = RaeCommand.Run(["run", pipeline, "--run-dir", runDirectory], TextWriter.Null, error, ProgressReporter.Silent,
    logging => logging.Services.AddSingleton<ILoggerProvider>(memory));
if (exit != 0)
{
    Console.Error.WriteLine($"rae run failed ({exit}):\n{error}");
    return exit;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"training memory: DiT^DH [64, 128] on 32 px synthetic data, batch {batchSize}, {precision}, latent cache {(latentCache ? "on" : "off")}, {steps} steps ({runDirectory})"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"step",8} {"VmRSS MiB",10}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"start",8} {startMiB,10:F1}"));
foreach (var (step, mib) in memory.ResidentMiBAtStep.OrderBy(p => p.Key))
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{step,8} {mib,10:F1}"));
var points = memory.ResidentMiBAtStep.OrderBy(p => p.Key).ToList();
if (points.Count >= 2)
{
    // From step 100 on (the first log line at or after it): before that, allocator pools and caches still fill.
    var (first, last) = (points.FirstOrDefault(p => p.Key >= Math.Min(100, points[^1].Key), points[0]), points[^1]);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RSS step {first.Key} -> {last.Key}: {first.Value:F1} -> {last.Value:F1} MiB ({last.Value - first.Value:+0.0;-0.0} MiB, " +
        $"{(last.Value - first.Value) / (last.Key - first.Key) * 1024:F2} KiB/step); peak {ProcessMemory.PeakResidentMiB():F1} MiB"));
}
return 0;
