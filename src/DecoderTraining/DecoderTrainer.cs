using System.Globalization;
using RaePipeline.Abstractions;
using RaePipeline.Data;
using RaePipeline.Distributed;
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
/// Every sample's noise and augmentation come from its own seeded stream (<see cref="SampleRandomness"/>, by its
/// run-wide number), so a step computes the same whether one process or many ranks compute it. Data-parallel over a
/// <see cref="ProcessGroup"/>: the ranks start from rank 0's decoder and discriminator heads, each computes its
/// <see cref="Slice"/> of the global batch, and the decoder's and the discriminator's gradients (the official code
/// leaves the discriminator's unsynchronized) and the last-layer gradients of the adaptive weight are averaged over
/// the ranks before use, so weights, EMA and losses stay the same on every rank.
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
    readonly ProcessGroup group;
    readonly GradientBuckets decoderGradients;
    readonly GradientBuckets? discriminatorGradients;
    readonly SampleRandomness decoderNoise;
    readonly SampleRandomness generatorAugment;
    readonly SampleRandomness fakeAugment;
    readonly SampleRandomness realAugment;
    readonly LossGuard guard;

    /// <param name="schedule">Decoder and discriminator learning rate per update (the discriminator's counts its own updates).</param>
    /// <param name="lpips">Frozen LPIPS, or null to train without it. The trainer takes ownership.</param>
    /// <param name="discriminator">The discriminator, or null for no GAN. The trainer takes ownership.</param>
    /// <param name="slice">This rank's rows of every global batch of <c>batch_size</c>.</param>
    /// <param name="noise">The latents' noise augmentation (its tau is <c>noise_tau</c>).</param>
    public DecoderTrainer(IEncoder encoder, IDecoder decoder, TrainDecoderOptions options, DecoderTrainingPlan plan,
        Lpips? lpips, DinoDiscriminator? discriminator, Device device, long seed, ProcessGroup group, BatchSlice slice,
        NoiseAugmentation noise)
    {
        this.encoder = encoder;
        this.decoder = decoder;
        this.options = options;
        this.lpips = lpips;
        this.discriminator = discriminator;
        this.device = device;
        this.group = group;
        Plan = plan;
        Slice = slice;
        module = decoder.Module;
        var named = module.named_parameters().ToList();
        lastLayer = named.FirstOrDefault(p => p.name == options.LastLayer).parameter
            ?? throw new ArgumentException(
                $"last_layer '{options.LastLayer}' is not a parameter of the decoder; it has: " +
                string.Join(", ", named.Select(p => p.name).TakeLast(6)) + (named.Count > 6 ? ", ..." : ""));
        if (!lastLayer.requires_grad)
            throw new ArgumentException($"last_layer '{options.LastLayer}' of the decoder is frozen (requires_grad false)");
        ModuleReplicas.Broadcast(group, module); // identical initial weights (a checkpoint, when resuming, replaces them on every rank alike)
        decoderParameters = TrainingState.TrainableParameters(module);
        decoderGradients = new GradientBuckets(group, decoderParameters.Select(p => p.Parameter));
        decoderOptimizer = optim.AdamW(decoderParameters.Select(p => p.Parameter), options.Lr, options.Betas[0], options.Betas[1],
            options.AdamEps, options.WeightDecay);
        if (discriminator != null)
        {
            ModuleReplicas.Broadcast(group, discriminator);
            discriminatorParameters = TrainingState.TrainableParameters(discriminator);
            discriminatorGradients = new GradientBuckets(group, discriminatorParameters.Select(p => p.Parameter));
            discriminatorOptimizer = optim.AdamW(discriminatorParameters.Select(p => p.Parameter), options.Lr, options.Betas[0],
                options.Betas[1], options.AdamEps, options.WeightDecay);
        }
        schedule = LearningRateSchedule.Cosine(options.Lr, options.FinalLr, plan.WarmupSteps, plan.TotalSteps);
        Ema = new ExponentialMovingAverage(module, options.EmaDecay);
        decoderNoise = new SampleRandomness(seed, "decoder-noise");
        generatorAugment = new SampleRandomness(seed, "generator-diffaug");
        fakeAugment = new SampleRandomness(seed, "discriminator-diffaug-fake");
        realAugment = new SampleRandomness(seed, "discriminator-diffaug-real");
        this.noise = noise;
        augment = new DiffAugment(options.Augment.Translation, options.Augment.Color, options.Augment.Cutout);
        guard = new LossGuard("train-decoder", options.MaxLossRatio, "lower the learning rate (lr, final_lr) or start the GAN later (gan_start)");
    }

    /// <summary>The L1 of a mid-gray image is at most 0.5 for images in [0, 1]: the yardstick of divergence.</summary>
    const double MidGrayL1Bound = 0.5;

    public DecoderTrainingPlan Plan { get; }

    /// <summary>This rank's rows of every global batch (all of them in a single process).</summary>
    public BatchSlice Slice { get; }

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

    /// <summary>
    /// images: this rank's slice (b, 3, S, S) in [0, 1], on any device, of global batch <paramref name="step"/>, and
    /// their raw latents (b, C, h, w) when they were encoded beforehand (a latent cache; null: encoded here); one
    /// decoder update and, once due, the discriminator's. Returns the global batch's losses (the same on every rank).
    /// </summary>
    public DecoderStepLosses Step(long step, Tensor batch, Tensor? encoded = null)
    {
        using var scope = NewDisposeScope();
        if (batch.shape[0] != Slice.Count)
            throw new ArgumentException($"expected this rank's {Slice.Count} images of the global batch, got {batch.shape[0]}", nameof(batch));
        if (encoded is not null && encoded.shape[0] != batch.shape[0])
            throw new ArgumentException($"{encoded.shape[0]} latents for {batch.shape[0]} images", nameof(encoded));
        var images = batch.to(float32).to(device);
        Tensor latents;
        if (encoded is not null) latents = encoded.to(float32).to(device);
        else using (no_grad()) latents = encoder.Encode(images);
        var real = images * 2 - 1;
        long first = Slice.FirstSample(step);

        module.train();
        var reconstruction = decoder.Decode(noise.Apply(latents, decoderNoise, first));
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
            var gan = GanLosses.VanillaGenerator(discriminator.call(augment.Apply(reconstructionSigned, generatorAugment, first)));
            var lastLayerGradients = GanLosses.LastLayerGradients(reconstructionTotal, gan, lastLayer);
            AverageAcrossRanks(lastLayerGradients);
            var weight = GanLosses.AdaptiveWeight(lastLayerGradients, options.MaxDWeight);
            total = reconstructionTotal + options.DiscWeight * weight * gan;
            ganValue = gan.item<float>();
            weightValue = weight.item<float>();
        }
        double totalValue = total.item<float>(), l1Value = l1.item<float>(), lr = schedule.At(step);
        (l1Value, lpipsValue, ganValue, totalValue) = GlobalMeans(l1Value, lpipsValue, ganValue, totalValue);
        guard.Check(step + 1, "L1 reconstruction loss", l1Value, lr, MidGrayL1Bound);
        guard.Check(step + 1, string.Create(CultureInfo.InvariantCulture,
            $"loss (l1 {l1Value:G4}, lpips {lpipsValue:G4}, gan {ganValue:G4}, adaptive weight {weightValue:G4})"), totalValue, lr);

        decoderOptimizer.zero_grad();
        total.backward();
        decoderGradients.Average(Slice);
        SetLearningRate(decoderOptimizer, lr);
        decoderOptimizer.step();
        Ema.Update(module);

        double discriminatorLoss = double.NaN, accuracy = double.NaN;
        if (discriminator != null && step >= Plan.DiscUpdateStartStep)
            for (int i = 0; i < options.DiscUpdates; i++)
                (discriminatorLoss, accuracy) = UpdateDiscriminator(step, latents, real);

        return new DecoderStepLosses(l1Value, lpipsValue, ganValue, weightValue, totalValue, discriminatorLoss, accuracy);
    }

    /// <summary>
    /// One hinge-loss update on real images vs a fresh 8-bit reconstruction (decoder in eval mode, no noise); update u
    /// augments sample n of the global batch with the streams' sample u * B + n. Returns the global loss and accuracy.
    /// </summary>
    (double Loss, double Accuracy) UpdateDiscriminator(long step, Tensor latents, Tensor real)
    {
        using var scope = NewDisposeScope();
        module.eval();
        Tensor fake;
        using (no_grad()) fake = GanLosses.QuantizeTo8Bit(decoder.Decode(latents) * 2 - 1);
        discriminator!.train();
        discriminatorOptimizer!.zero_grad();
        long first = Slice.FirstSample(DiscriminatorUpdates);
        var logitsFake = discriminator.call(augment.Apply(fake, fakeAugment, first));
        var logitsReal = discriminator.call(augment.Apply(real, realAugment, first));
        var loss = GanLosses.HingeDiscriminator(logitsReal, logitsFake);
        double lr = schedule.At(DiscriminatorUpdates);
        var (value, accuracy) = GlobalMeans(loss.item<float>(), (logitsReal > logitsFake).to(float32).mean().item<float>());
        guard.Check(step + 1, "discriminator loss", value, lr);
        loss.backward();
        discriminatorGradients!.Average(Slice);
        SetLearningRate(discriminatorOptimizer, lr);
        discriminatorOptimizer.step();
        DiscriminatorUpdates++;
        discriminator.eval();
        module.train();
        return (value, accuracy);
    }

    /// <summary>In place: every rank's <paramref name="local"/> (a mean over its slice) becomes the global batch's mean. Collective.</summary>
    void AverageAcrossRanks(Tensor local)
    {
        if (!group.IsDistributed) return;
        using var noGrad = no_grad();
        local.mul_(Slice.Weight);
        group.AllReduce(local);
    }

    /// <summary>The global batch's means of per-rank means over the slices (NaN, for a term not computed, stays NaN). Collective.</summary>
    (double, double) GlobalMeans(double a, double b)
    {
        var means = GlobalMeans([a, b]);
        return (means[0], means[1]);
    }

    (double, double, double, double) GlobalMeans(double a, double b, double c, double d)
    {
        var means = GlobalMeans([a, b, c, d]);
        return (means[0], means[1], means[2], means[3]);
    }

    double[] GlobalMeans(double[] local)
    {
        if (!group.IsDistributed) return local;
        using var scope = NewDisposeScope();
        var means = tensor(local, float64);
        AverageAcrossRanks(means);
        return means.data<double>().ToArray();
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
        decoderGradients.Dispose();
        discriminatorGradients?.Dispose();
        Ema.Dispose();
        lpips?.Dispose();
        discriminator?.Dispose();
    }
}
