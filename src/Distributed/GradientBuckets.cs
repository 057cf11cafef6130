using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Distributed;

/// <summary>
/// Gradient averaging for data-parallel training: after each rank's backward pass over its slice of the global batch
/// (<see cref="BatchSlice"/>), <see cref="Average(BatchSlice)"/> makes every rank's gradients the gradient of the mean
/// loss over the whole global batch: rank r's gradient (of its mean loss over n_r samples) is weighed by n_r / N and
/// the weighted gradients are summed across ranks, bucket by bucket (flattened into buffers of about
/// <see cref="DefaultBucketBytes"/>, all-reduced, copied back). Uneven slices and ranks without samples come out
/// right; a parameter without a gradient counts as zero and gets one, so every rank's optimizer sees the same
/// gradients. Do it before clipping and the optimizer step. Two ranks with 4 samples each then equal one process
/// with the 8 samples up to float32 summation order.
/// </summary>
public sealed class GradientBuckets : IDisposable
{
    /// <summary>25 MiB, PyTorch DDP's <c>bucket_cap_mb</c>.</summary>
    public const long DefaultBucketBytes = 25L << 20;

    readonly ProcessGroup group;
    readonly IReadOnlyList<Parameter> parameters;
    readonly TensorBuckets buckets;

    public GradientBuckets(ProcessGroup group, IEnumerable<Parameter> parameters, long bucketBytes = DefaultBucketBytes)
    {
        this.group = group;
        this.parameters = parameters.ToList();
        buckets = new TensorBuckets(this.parameters.Cast<Tensor>().ToList(), bucketBytes);
    }

    public int BucketCount => buckets.Buckets.Count;

    /// <summary>Gradient bytes moved per averaging (the parameters' size).</summary>
    public long Bytes => buckets.Bytes;

    /// <summary>Wall time of the last <see cref="Average(int, int)"/> (packing, all-reduce, unpacking).</summary>
    public TimeSpan LastDuration { get; private set; }

    /// <summary>Gradient bytes per second of the last averaging.</summary>
    public double LastBandwidth => LastDuration > TimeSpan.Zero ? Bytes / LastDuration.TotalSeconds : 0;

    public void Average(BatchSlice slice) => Average(slice.Count, slice.GlobalSize);

    /// <summary>
    /// Every rank's gradients become Σ_r (n_r / N) g_r, with n_r = <paramref name="localCount"/> (this rank's samples)
    /// and N = <paramref name="globalCount"/> (the global batch), g_r a rank's gradient of its mean loss. Collective.
    /// </summary>
    public void Average(int localCount, int globalCount)
    {
        if (globalCount < 1 || localCount < 0 || localCount > globalCount)
            throw new ArgumentOutOfRangeException(nameof(localCount), $"local samples {localCount} of a global batch of {globalCount}");
        var clock = Stopwatch.StartNew();
        double weight = (double)localCount / globalCount;
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        if (!group.IsDistributed)
        {
            if (weight != 1)
                foreach (var parameter in parameters)
                    parameter.grad?.mul_(weight);
            LastDuration = clock.Elapsed;
            return;
        }
        foreach (var bucket in buckets.Buckets)
        {
            var buffer = buckets.BufferFor(bucket);
            TensorBuckets.Pack(bucket, i => parameters[i].grad, buffer);
            buffer.mul_(weight);
            group.AllReduce(buffer);
            for (int m = 0; m < bucket.Members.Length; m++)
            {
                var parameter = parameters[bucket.Members[m]];
                var averaged = TensorBuckets.Slot(bucket, m, buffer, parameter);
                if (parameter.grad is { } gradient) gradient.copy_(averaged);
                else parameter.grad = averaged.clone().DetachFromDisposeScope();
            }
        }
        LastDuration = clock.Elapsed;
    }

    public void Dispose() => buckets.Dispose();
}
