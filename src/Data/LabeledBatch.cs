using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>
/// One batch: <see cref="Samples"/> (B, ...) float32 on the CPU (images (B, 3, S, S) in [0, 1] or latents
/// (B, C, h, w)) and <see cref="Labels"/> (B,) int64. The owner disposes it.
/// </summary>
public sealed class LabeledBatch(Tensor samples, Tensor labels, long index, long epoch) : IDisposable
{
    public Tensor Samples { get; } = samples;
    public Tensor Labels { get; } = labels;

    /// <summary>Position of the batch in the endless sequence of batches (0 = first batch of epoch 0).</summary>
    public long Index { get; } = index;

    public long Epoch { get; } = epoch;

    public int Size => (int)Samples.shape[0];

    public void Dispose()
    {
        Samples.Dispose();
        Labels.Dispose();
    }
}

/// <summary>A sample (without batch dimension) and its label.</summary>
public readonly record struct LabeledSample(Tensor Sample, int Label);
