using RaePipeline.Abstractions;
using RaePipeline.Data;
using RaePipeline.FlowMatching;
using RaePipeline.Imaging;
using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training;

/// <summary>
/// Progress pictures during stage-2 training: the pipeline's sampler integrates the denoiser with the current EMA
/// weights, guided as the pipeline's <c>guidance</c> block says (as the <c>sample</c> job does), from the same noise
/// every time, labels cycling through the classes; the latents are de-normalized with the latent statistics (when
/// present) and decoded into a grid PNG. The training weights are put back afterwards.
/// </summary>
public sealed class SampleGridWriter(JobContext context, IDenoiser denoiser, ExponentialMovingAverage ema, int count, int numClasses)
{
    public void Write(string path, TrainingLog log)
    {
        var components = context.Components;
        var decoder = components.Decoder;
        var sampler = components.Sampler;
        if (decoder.LatentShape != denoiser.LatentShape)
        {
            log.Warning($"no sample grid: the decoder decodes {decoder.LatentShape}, the denoiser makes {denoiser.LatentShape}");
            return;
        }
        var module = denoiser.Module;
        using var scope = NewDisposeScope();
        var training = module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        try
        {
            ema.CopyTo(module);
            module.eval();
            using var noGrad = torch.no_grad();
            using var generator = new Generator(SeedDerivation.Derive(context.Seed, "train-sample-grid"), torch.CPU);
            var noise = torch.randn(denoiser.LatentShape.WithBatch(count), generator: generator).to(context.Device);
            var labels = torch.arange(count, dtype: int64).remainder(numClasses).to(context.Device);
            var guidance = components.Guidance;
            var velocity = GuidedVelocity.Create(guidance.Method, guidance.Scale,
                new GuidanceInterval(guidance.Interval[0], guidance.Interval[1]), denoiser,
                guidance.Method.Trim().ToLowerInvariant() == "autoguidance" ? components.GuideDenoiser : null);
            var (x, y) = velocity.Prepare(noise, labels);
            var grid = sampler.TimeGrid(denoiser.LatentShape);
            var latents = velocity.Result(sampler.Sample(velocity.Field, x, y, grid));
            var statistics = components.Statistics;
            var images = decoder.Decode(statistics?.Denormalize(latents) ?? latents).clamp(0, 1);
            ImageGrid.Save(path, images, columns: (int)Math.Ceiling(Math.Sqrt(count)));
            log.Info($"sample grid {path}");
        }
        finally
        {
            StateDictLoader.Load(module, training, "training weights");
            module.train();
        }
    }
}
