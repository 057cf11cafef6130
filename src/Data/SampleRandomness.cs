using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Data;

/// <summary>
/// One random stream per sample: sample n's draws come from a generator seeded with (run seed, purpose, n)
/// (<see cref="SeedDerivation"/>), n being the sample's run-wide number (row i of global batch b of B samples is
/// sample b * B + i). A sample's noise, time, label dropout or augmentation then do not depend on how its batch is
/// split among ranks, on its neighbours in the batch, or on where a resumed run restarted: W ranks draw exactly what
/// one process draws, and a checkpoint needs no generator state. A generator per sample costs microseconds, nothing
/// next to a model's forward.
/// </summary>
public sealed class SampleRandomness(long seed, string purpose)
{
    public string Purpose => purpose;

    /// <summary>Sample <paramref name="sample"/>'s generator (the caller disposes it).</summary>
    public Generator For(long sample) => new(SeedDerivation.Derive(seed, purpose, sample), torch.CPU);

    /// <summary>(count, ...shape) float32 standard normal draws on the CPU; row i from sample <paramref name="firstSample"/> + i.</summary>
    public Tensor Normal(long firstSample, int count, params long[] shape) =>
        Draw(firstSample, count, shape, (size, generator) => torch.randn(size, generator: generator));

    /// <summary>(count, ...shape) float32 uniform draws in [0, 1) on the CPU; row i from sample <paramref name="firstSample"/> + i.</summary>
    public Tensor Uniform(long firstSample, int count, params long[] shape) =>
        Draw(firstSample, count, shape, (size, generator) => torch.rand(size, generator: generator));

    Tensor Draw(long firstSample, int count, long[] shape, Func<long[], Generator, Tensor> draw)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "the number of samples must not be negative");
        if (firstSample < 0) throw new ArgumentOutOfRangeException(nameof(firstSample), firstSample, "sample numbers start at 0");
        using var scope = NewDisposeScope();
        if (count == 0) return torch.empty([0, .. shape]).MoveToOuterDisposeScope();
        var rows = new Tensor[count];
        for (int i = 0; i < count; i++)
        {
            using var generator = For(firstSample + i);
            rows[i] = draw([1, .. shape], generator);
        }
        return torch.cat(rows, 0).MoveToOuterDisposeScope();
    }
}
