using System.Globalization;
using RaePipeline.Abstractions;
using RaePipeline.Data;
using RaePipeline.Generation;
using RaePipeline.Imaging;
using RaePipeline.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// One stage-1 decoder training run (RAE src/train_stage1.py): a frozen encoder, a trainable decoder, L1 + LPIPS,
/// and a GAN whose discriminator starts updating before the decoder receives its loss. Per step:
/// decoder on noise-augmented latents -> L1 (+ LPIPS) (+ 0.75 * lambda * -mean D(DiffAug(recon))) -> AdamW ->
/// EMA; then the discriminator on DiffAug(real) vs DiffAug(8-bit fresh reconstruction) with the hinge loss.
/// </summary>
public sealed class DecoderTrainer : IDisposable
{
    readonly IEncoder encoder;
    readonly IDecoder decoder;
    readonly nn.Module module;
    readonly Lpips? lpips;
    readonly DinoDiscriminator? discriminator;
    readonly TrainDecoderOptions options;
    readonly Parameter lastLayer;
    readonly List<(string Name, Parameter Parameter)> decoderParameters;
    readonly List<(string Name, Parameter Parameter)> discriminatorParameters = [];
    readonly AdamW decoderOptimizer;
    readonly AdamW? discriminatorOptimizer;
    TrainingState? decoderState;
    TrainingState? discriminatorState;
    readonly LearningRateSchedule schedule;
    readonly NoiseAugmentation noise;
    readonly DiffAugment augment;
    readonly Device device;
    readonly long seed;
    readonly LossGuard guard;

    /// <param name="schedule">Decoder and discriminator learning rate per update (the discriminator's counts its own updates).</param>
    /// <param name="lpips">Frozen LPIPS, or null to train without it. The trainer takes ownership.</param>
    /// <param name="discriminator">The discriminator, or null for no GAN. The trainer takes ownership.</param>
    public DecoderTrainer(IEncoder encoder, IDecoder decoder, TrainDecoderOptions options, DecoderTrainingPlan plan,
        Lpips? lpips, DinoDiscriminator? discriminator, Device device, long seed)
    {
        this.encoder = encoder;
        this.decoder = decoder;
        this.options = options;
        this.lpips = lpips;
        this.discriminator = discriminator;
        this.device = device;
        Plan = plan;
        module = decoder.Module;
        var named = module.named_parameters().ToList();
        lastLayer = named.FirstOrDefault(p => p.name == options.LastLayer).parameter
            ?? throw new ArgumentException(
                $"last_layer '{options.LastLayer}' is not a parameter of the decoder; it has: " +
                string.Join(", ", named.Select(p => p.name).TakeLast(6)) + (named.Count > 6 ? ", ..." : ""));
        if (!lastLayer.requires_grad)
            throw new ArgumentException($"last_layer '{options.LastLayer}' of the decoder is frozen (requires_grad false)");
        decoderParameters = TrainingState.TrainableParameters(module);
        decoderOptimizer = optim.AdamW(decoderParameters.Select(p => p.Parameter), options.Lr, options.Betas[0], options.Betas[1],
            options.AdamEps, options.WeightDecay);
        if (discriminator != null)
        {
            discriminatorParameters = TrainingState.TrainableParameters(discriminator);
            discriminatorOptimizer = optim.AdamW(discriminatorParameters.Select(p => p.Parameter), options.Lr, options.Betas[0],
                options.Betas[1], options.AdamEps, options.WeightDecay);
        }
        schedule = LearningRateSchedule.Cosine(options.Lr, options.FinalLr, plan.WarmupSteps, plan.TotalSteps);
        Ema = new ExponentialMovingAverage(module, options.EmaDecay);
        this.seed = seed;
        noise = new NoiseAugmentation(options.NoiseTau);
        augment = new DiffAugment(options.Augment.Translation, options.Augment.Color, options.Augment.Cutout);
        guard = new LossGuard("train-decoder", options.MaxLossRatio, "lower the learning rate (lr, final_lr) or start the GAN later (gan_start)");
    }

    /// <summary>The L1 of a mid-gray image is at most 0.5 for images in [0, 1]: the yardstick of divergence.</summary>
    const double MidGrayL1Bound = 0.5;

    public DecoderTrainingPlan Plan { get; }

    public ExponentialMovingAverage Ema { get; }

    /// <summary>Discriminator updates done so far (its learning-rate schedule counts these).</summary>
    public long DiscriminatorUpdates { get; internal set; }

    /// <summary>Decoder, EMA and optimizer for <see cref="TrainingCheckpoint"/>.</summary>
    public TrainingState DecoderState() => decoderState ??= new TrainingState
    {
        Model = module, Ema = Ema, Optimizer = decoderOptimizer, Parameters = decoderParameters,
    };

    /// <summary>Discriminator heads and their optimizer for <see cref="TrainingCheckpoint"/>; null without a GAN.</summary>
    public TrainingState? DiscriminatorState() => discriminator == null ? null : discriminatorState ??= new TrainingState
    {
        Model = discriminator, Optimizer = discriminatorOptimizer!, Parameters = discriminatorParameters,
    };

    /// <summary>A generator for one random stream of one step, so a resumed run draws exactly what an uninterrupted one would.</summary>
    Generator StreamFor(string purpose, long index) => new(SeedDerivation.Derive(seed, purpose, index));

    /// <summary>images: (B, 3, S, S) in [0, 1] on any device; one decoder update and, once due, the discriminator's.</summary>
    public DecoderStepLosses Step(long step, Tensor batch)
    {
        using var scope = NewDisposeScope();
        var images = batch.to(float32).to(device);
        var latents = encoder.Encode(images);
        var real = images * 2 - 1;

        module.train();
        using var noiseGenerator = StreamFor("decoder-noise", step);
        var reconstruction = decoder.Decode(noise.Apply(latents, noiseGenerator));
        var l1 = (reconstruction - images).abs().mean();
        var reconstructionSigned = reconstruction * 2 - 1;
        var reconstructionTotal = l1;
        double lpipsValue = double.NaN;
        if (lpips != null && step >= Plan.LpipsStartStep && options.LpipsWeight > 0)
        {
            var perceptual = lpips.Loss(real, reconstructionSigned);
            lpipsValue = perceptual.item<float>();
            reconstructionTotal = l1 + options.LpipsWeight * perceptual;
        }
        var total = reconstructionTotal;
        double ganValue = double.NaN, weightValue = double.NaN;
        if (discriminator != null && step >= Plan.GanStartStep)
        {
            discriminator.eval();
            using var augmentGenerator = StreamFor("generator-diffaug", step);
            var gan = GanLosses.VanillaGenerator(discriminator.call(augment.Apply(reconstructionSigned, augmentGenerator)));
            var weight = GanLosses.AdaptiveWeight(reconstructionTotal, gan, lastLayer, options.MaxDWeight);
            total = reconstructionTotal + options.DiscWeight * weight * gan;
            ganValue = gan.item<float>();
            weightValue = weight.item<float>();
        }
        double totalValue = total.item<float>(), l1Value = l1.item<float>(), lr = schedule.At(step);
        guard.Check(step + 1, "L1 reconstruction loss", l1Value, lr, MidGrayL1Bound);
        guard.Check(step + 1, string.Create(CultureInfo.InvariantCulture,
            $"loss (l1 {l1Value:G4}, lpips {lpipsValue:G4}, gan {ganValue:G4}, adaptive weight {weightValue:G4})"), totalValue, lr);

        decoderOptimizer.zero_grad();
        total.backward();
        SetLearningRate(decoderOptimizer, lr);
        decoderOptimizer.step();
        Ema.Update(module);

        double discriminatorLoss = double.NaN, accuracy = double.NaN;
        if (discriminator != null && step >= Plan.DiscUpdateStartStep)
            for (int i = 0; i < options.DiscUpdates; i++)
                (discriminatorLoss, accuracy) = UpdateDiscriminator(step, latents, real);

        return new DecoderStepLosses(l1Value, lpipsValue, ganValue, weightValue, totalValue, discriminatorLoss, accuracy);
    }

    /// <summary>One hinge-loss update on real images vs a fresh 8-bit reconstruction (decoder in eval mode, no noise).</summary>
    (double Loss, double Accuracy) UpdateDiscriminator(long step, Tensor latents, Tensor real)
    {
        using var scope = NewDisposeScope();
        module.eval();
        Tensor fake;
        using (no_grad()) fake = GanLosses.QuantizeTo8Bit(decoder.Decode(latents) * 2 - 1);
        discriminator!.train();
        discriminatorOptimizer!.zero_grad();
        using var augmentGenerator = StreamFor("discriminator-diffaug", DiscriminatorUpdates);
        var logitsFake = discriminator.call(augment.Apply(fake, augmentGenerator));
        var logitsReal = discriminator.call(augment.Apply(real, augmentGenerator));
        var loss = GanLosses.HingeDiscriminator(logitsReal, logitsFake);
        double lr = schedule.At(DiscriminatorUpdates), value = loss.item<float>();
        guard.Check(step + 1, "discriminator loss", value, lr);
        loss.backward();
        SetLearningRate(discriminatorOptimizer, lr);
        discriminatorOptimizer.step();
        DiscriminatorUpdates++;
        discriminator.eval();
        module.train();
        return (value, (logitsReal > logitsFake).to(float32).mean().item<float>());
    }

    static void SetLearningRate(OptimizerHelper optimizer, double lr)
    {
        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
    }

    /// <summary>Writes originals (first row) over their reconstructions with the EMA weights (second row) as a PNG.</summary>
    public void WriteReconstructionGrid(string path, Tensor batch)
    {
        using var scope = NewDisposeScope();
        var images = batch.to(float32).to(device);
        Tensor reconstruction;
        using (no_grad())
        {
            var latents = encoder.Encode(images);
            reconstruction = WithEmaWeights(() => decoder.Decode(latents));
        }
        FiniteSamples.Check(reconstruction, "train-decoder: the EMA decoder's reconstructions for the grid", "check the loss curves (lower lr)");
        ImageGrid.Save(path, cat([images.cpu(), reconstruction.clamp(0, 1).cpu()], 0), columns: (int)images.shape[0]);
    }

    /// <summary>Runs <paramref name="action"/> with the EMA weights in the decoder, then puts the trained weights back.</summary>
    T WithEmaWeights<T>(Func<T> action)
    {
        var saved = module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        bool wasTraining = module.training;
        try
        {
            Ema.CopyTo(module);
            module.eval();
            return action();
        }
        finally
        {
            using (no_grad())
                foreach (var (name, tensor) in module.state_dict()) tensor.copy_(saved[name]);
            foreach (var tensor in saved.Values) tensor.Dispose();
            module.train(wasTraining);
        }
    }

    /// <summary>Puts the EMA weights into the decoder for good (what later jobs decode with).</summary>
    public void UseEmaWeights()
    {
        Ema.CopyTo(module);
        module.eval();
    }

    public void Dispose()
    {
        decoderOptimizer.Dispose();
        discriminatorOptimizer?.Dispose();
        Ema.Dispose();
        lpips?.Dispose();
        discriminator?.Dispose();
    }
}
