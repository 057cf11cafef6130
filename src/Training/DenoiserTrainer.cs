using System.Globalization;
using RaePipeline.Abstractions;
using RaePipeline.Data;
using RaePipeline.FlowMatching;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Training;

/// <summary>
/// The optimization state of stage-2 training and its optimizer step: the denoiser's trainable parameters, AdamW, the
/// EMA, the learning-rate schedule, the flow-matching loss with its time shift and the run's seeded generators
/// (noise and times, label dropout), gathered in a <see cref="TrainingState"/> for checkpoints.
/// </summary>
public sealed class DenoiserTrainer : IDisposable
{
    readonly IDenoiser denoiser;
    readonly TrainJobOptions options;
    readonly TrainingInputs inputs;
    readonly AdamW optimizer;
    readonly Generator noise;
    readonly Generator dropout;
    readonly LossGuard guard;

    public DenoiserTrainer(IDenoiser denoiser, string denoiserName, TrainJobOptions options, TrainingInputs inputs, long seed)
    {
        this.denoiser = denoiser;
        this.options = options;
        this.inputs = inputs;
        var module = denoiser.Module;
        var parameters = TrainingState.TrainableParameters(module);
        if (parameters.Count == 0)
            throw new InvalidOperationException($"the denoiser '{denoiserName}' has no trainable parameters");
        Schedule = LearningRateSchedule.From(options.Schedule, options.Steps);
        var shift = options.ShiftDim > 0
            ? TimeShift.FromDimensions(options.ShiftDim, options.ShiftBase)
            : TimeShift.FromLatent(denoiser.LatentShape, options.ShiftBase);
        Loss = new FlowMatchingLoss(TimeDistribution.Parse(options.TimeDistribution), shift);
        guard = new LossGuard("train", options.MaxLossRatio,
            "lower the learning rate (schedule.lr) or enable gradient clipping (clip_grad)");
        optimizer = optim.AdamW(parameters.Select(p => p.Parameter), Schedule.At(0),
            options.Betas[0], options.Betas[1], options.Eps, options.WeightDecay);
        noise = new Generator(SeedDerivation.Derive(seed, "train-noise"), CPU);
        dropout = new Generator(SeedDerivation.Derive(seed, "train-label-dropout"), CPU);
        State = new TrainingState
        {
            Model = module,
            Ema = new ExponentialMovingAverage(module, options.EmaDecay),
            Optimizer = optimizer,
            Parameters = parameters,
            Generators = new Dictionary<string, Generator> { ["noise"] = noise, ["label_dropout"] = dropout },
        };
    }

    public TrainingState State { get; }

    public ExponentialMovingAverage Ema => State.Ema!;

    public LearningRateSchedule Schedule { get; }

    public FlowMatchingLoss Loss { get; }

    public long TrainableParameters => State.Parameters.Sum(p => p.Parameter.numel());

    /// <summary>
    /// One optimizer step: gradients of the whole batch (k micro-batches, <see cref="GradientAccumulation"/>), the
    /// loss checked (<see cref="LossGuard"/>) before anything changes, clipping, the scheduled learning rate, AdamW, the
    /// EMA update. Returns the batch's mean loss and the learning rate used.
    /// </summary>
    public (double Loss, double LearningRate) Step()
    {
        using var scope = NewDisposeScope();
        long step = State.Step;
        double lr = Schedule.At(step);
        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
        var (loss, yardstick) = ComputeGradients(step);
        // A data-parallel run all-reduces the gradients (and the two numbers above) here, before they are checked and clipped.
        guard.Check(step + 1, "loss", loss, lr, yardstick);
        if (options.ClipGrad > 0) nn.utils.clip_grad_norm_(State.Parameters.Select(p => p.Parameter), options.ClipGrad);
        optimizer.step();
        Ema.Update(State.Model);
        State.Step++;
        return (loss, lr);
    }

    /// <summary>
    /// Back-propagates the loss of step <paramref name="step"/>'s micro-batches; returns the batch's mean loss and the
    /// mean loss of predicting zero velocity on the same batch (the divergence yardstick).
    /// </summary>
    (double Loss, double Yardstick) ComputeGradients(long step)
    {
        double yardstick = 0;
        double loss = GradientAccumulation.Backward(State.Model, options.GradAccumulation, i =>
        {
            var (z, labels) = inputs.MicroBatch(step, i);
            var y = DropLabels(labels, dropout, options.ClassDropout, denoiser.NullLabel);
            using var terms = Loss.Compute(denoiser.Forward, z, y, noise);
            yardstick += terms.Target.square().mean().ToDouble() / options.GradAccumulation;
            return terms.Mean();
        });
        return (loss, yardstick);
    }

    /// <summary>labels: (B,) -> labels with each replaced by <paramref name="nullLabel"/> with probability p (seeded).</summary>
    static Tensor DropLabels(Tensor labels, Generator generator, double probability, long nullLabel)
    {
        using var scope = NewDisposeScope();
        var drop = rand([labels.shape[0]], generator: generator).lt(probability).to(labels.device);
        return where(drop, full_like(labels, nullLabel), labels).MoveToOuterDisposeScope();
    }

    /// <summary>What a resumed run must agree on with the checkpoint to repeat the original exactly (warned about otherwise).</summary>
    public Dictionary<string, string> Facts(string denoiserName, string encoderName, string dataset, long seed) =>
        new(StringComparer.Ordinal)
        {
            ["denoiser"] = denoiserName,
            ["encoder"] = encoderName,
            ["dataset"] = dataset,
            ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
            ["batch_size"] = options.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["grad_accumulation"] = options.GradAccumulation.ToString(CultureInfo.InvariantCulture),
            ["schedule"] = Schedule.ToString(),
            ["time_distribution"] = Loss.Times.Name,
            ["shift"] = Loss.Shift.S.ToString("R", CultureInfo.InvariantCulture),
            ["latent_statistics"] = inputs.Statistics is not { } s ? "none" : $"{s.Shape} mean {(s.Mean is null ? "none" : "given")} eps {s.Eps}",
        };

    public void Dispose()
    {
        optimizer.Dispose();
        Ema.Dispose();
        noise.Dispose();
        dropout.Dispose();
    }
}
