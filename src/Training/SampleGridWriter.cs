using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Data;
using RaePipeline.FlowMatching;
using RaePipeline.Generation;
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
public sealed class SampleGridWriter
{
    readonly JobContext context;
    readonly IDenoiser denoiser;
    readonly ExponentialMovingAverage ema;
    readonly int count;
    readonly int numClasses;
    readonly IDecoder decoder;
    readonly ISampler sampler;
    readonly GuidedVelocity velocity;

    /// <summary>
    /// Resolves the decoder, sampler and guidance here, before any training step: components are built on first
    /// access, and a component built inside a step's dispose scope could lose tensors when that scope ends.
    /// </summary>
    public SampleGridWriter(JobContext context, IDenoiser denoiser, ExponentialMovingAverage ema, int count, int numClasses)
    {
        this.context = context;
        this.denoiser = denoiser;
        this.ema = ema;
        this.count = count;
        this.numClasses = numClasses;
        var components = context.Components;
        decoder = components.Decoder;
        sampler = components.Sampler;
        velocity = PipelineGuidance.Velocity(components, denoiser);
    }

    public void Write(string path, ILogger log)
    {
        if (decoder.LatentShape != denoiser.LatentShape)
        {
            log.LogWarning("no sample grid: the decoder decodes {Decoded}, the denoiser makes {Made}", decoder.LatentShape, denoiser.LatentShape);
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
            var (x, y) = velocity.Prepare(noise, labels);
            var grid = sampler.TimeGrid(denoiser.LatentShape);
            var latents = FiniteSamples.Check(velocity.Result(sampler.Sample(velocity.Field, x, y, grid)),
                "train: the sample grid's latents", "the EMA denoiser or the guidance gives NaN or infinity; check the loss curve and the guidance scale");
            var statistics = context.Components.Statistics;
            var images = FiniteSamples.Check(decoder.Decode(statistics?.Denormalize(latents) ?? latents),
                "train: the sample grid's decoded images", "check the decoder's weights and the latent statistics");
            ImageGrid.Save(path, images.clamp(0, 1), columns: (int)Math.Ceiling(Math.Sqrt(count)));
            log.LogInformation("sample grid {Path}", path);
        }
        finally
        {
            StateDictLoader.Load(module, training, "training weights");
            module.train();
        }
    }
}
