using System.Globalization;
using RaePipeline.Abstractions;
using RaePipeline.Data;
using RaePipeline.Distributed;
using RaePipeline.FlowMatching;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Training;

/// <summary>
/// The optimization state of stage-2 training and its optimizer step: the denoiser's trainable parameters, AdamW, the
/// EMA, the learning-rate schedule and the flow-matching loss with its time shift, gathered in a
/// <see cref="TrainingState"/> for checkpoints. Every sample's noise, time and label dropout come from its own
/// seeded stream (<see cref="SampleRandomness"/>, by its run-wide number), so the run holds no generator state and
/// a step computes the same whether one process or many ranks compute it. Data-parallel over a
/// <see cref="ProcessGroup"/>: the ranks start from rank 0's weights, each computes the gradients of its slice of
/// the global batch, and the gradients are averaged over the ranks (<see cref="GradientBuckets"/>) before the loss
/// check, clipping, AdamW and the EMA, which are then the same on every rank.
/// </summary>
public sealed class DenoiserTrainer : IDisposable
{
    readonly IDenoiser denoiser;
    readonly TrainJobOptions options;
    readonly TrainingInputs inputs;
    readonly ProcessGroup group;
    readonly AdamW optimizer;
    readonly GradientBuckets gradients;
    readonly SampleRandomness noise;
    readonly SampleRandomness times;
    readonly SampleRandomness dropout;
    readonly LossGuard guard;

    public DenoiserTrainer(IDenoiser denoiser, string denoiserName, TrainJobOptions options, TrainingInputs inputs, long seed,
        ProcessGroup group)
    {
        this.denoiser = denoiser;
        this.options = options;
        this.inputs = inputs;
        this.group = group;
        var module = denoiser.Module;
        var parameters = TrainingState.TrainableParameters(module);
        if (parameters.Count == 0)
            throw new InvalidOperationException($"the denoiser '{denoiserName}' has no trainable parameters");
        ModuleReplicas.Broadcast(group, module); // identical initial weights (a checkpoint, when resuming, replaces them on every rank alike)
        Schedule = LearningRateSchedule.From(options.Schedule, options.Steps);
        var shift = options.ShiftDim > 0
            ? TimeShift.FromDimensions(options.ShiftDim, options.ShiftBase)
            : TimeShift.FromLatent(denoiser.LatentShape, options.ShiftBase);
        Loss = new FlowMatchingLoss(TimeDistribution.Parse(options.TimeDistribution), shift);
        guard = new LossGuard("train", options.MaxLossRatio,
            "lower the learning rate (schedule.lr) or enable gradient clipping (clip_grad)");
        optimizer = optim.AdamW(parameters.Select(p => p.Parameter), Schedule.At(0),
            options.Betas[0], options.Betas[1], options.Eps, options.WeightDecay);
        gradients = new GradientBuckets(group, parameters.Select(p => p.Parameter));
        noise = new SampleRandomness(seed, "train-noise");
        times = new SampleRandomness(seed, "train-time");
        dropout = new SampleRandomness(seed, "train-label-dropout");
        State = new TrainingState
        {
            Model = module,
            Ema = new ExponentialMovingAverage(module, options.EmaDecay),
            Optimizer = optimizer,
            Parameters = parameters,
        };
    }

    public TrainingState State { get; }

    public ExponentialMovingAverage Ema => State.Ema!;

    public LearningRateSchedule Schedule { get; }

    public FlowMatchingLoss Loss { get; }

    public long TrainableParameters => State.Parameters.Sum(p => p.Parameter.numel());

    /// <summary>
    /// One optimizer step: gradients of the whole global batch (k micro-batches, <see cref="GradientAccumulation"/>,
    /// this rank's slice of each, averaged over the ranks), the loss checked (<see cref="LossGuard"/>) before anything
    /// changes, clipping, the scheduled learning rate, AdamW, the EMA update. Returns the global batch's mean loss and
    /// the learning rate used (the same on every rank).
    /// </summary>
    public (double Loss, double LearningRate) Step()
    {
        using var scope = NewDisposeScope();
        long step = State.Step;
        double lr = Schedule.At(step);
        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
        var (loss, yardstick) = ComputeGradients(step);
        gradients.Average(inputs.Slice);
        (loss, yardstick) = GlobalMeans(loss, yardstick);
        guard.Check(step + 1, "loss", loss, lr, yardstick);
        if (options.ClipGrad > 0) nn.utils.clip_grad_norm_(State.Parameters.Select(p => p.Parameter), options.ClipGrad);
        optimizer.step();
        Ema.Update(State.Model);
        State.Step++;
        return (loss, lr);
    }

    /// <summary>
    /// Back-propagates the loss of this rank's slices of step <paramref name="step"/>'s micro-batches; returns the
    /// slices' mean loss and the mean loss of predicting zero velocity on them (the divergence yardstick).
    /// </summary>
    (double Loss, double Yardstick) ComputeGradients(long step)
    {
        double yardstick = 0;
        double loss = GradientAccumulation.Backward(State.Model, options.GradAccumulation, i =>
        {
            var (z, labels, first) = inputs.MicroBatch(step, i);
            int count = (int)z.shape[0];
            var y = DropLabels(labels, dropout.Uniform(first, count), options.ClassDropout, denoiser.NullLabel);
            var eps = noise.Normal(first, count, z.shape[1..]).to(z.dtype).to(z.device);
            var t = Loss.Shift.Apply(Loss.Times.FromUniform(times.Uniform(first, count))).to(z.device);
            using var terms = FlowMatchingLoss.Evaluate(denoiser.Forward, z, eps, t, y);
            yardstick += terms.Target.square().mean().ToDouble() / options.GradAccumulation;
            return terms.Mean();
        });
        return (loss, yardstick);
    }

    /// <summary>The global batch's means from each rank's means over its slice (weighted by the slice's share). Collective.</summary>
    (double Loss, double Yardstick) GlobalMeans(double loss, double yardstick)
    {
        if (!group.IsDistributed) return (loss, yardstick);
        using var scope = NewDisposeScope();
        var means = tensor(new[] { loss, yardstick }, float64) * inputs.Slice.Weight;
        group.AllReduce(means);
        var values = means.data<double>().ToArray();
        return (values[0], values[1]);
    }

    /// <summary>labels: (b,) -> labels with each replaced by <paramref name="nullLabel"/> where its uniform draw (b,) is below p.</summary>
    static Tensor DropLabels(Tensor labels, Tensor uniform, double probability, long nullLabel)
    {
        using var scope = NewDisposeScope();
        var drop = uniform.lt(probability).to(labels.device);
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
        gradients.Dispose();
        Ema.Dispose();
    }
}
