using RaePipeline.Abstractions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace RaePipeline.Abstractions.Testing;

/// <summary>
/// Contract tests for an <see cref="IDenoiser"/>: derive and build yours in <see cref="CreateDenoiser"/>; each test
/// builds a fresh one. Inputs are random latents of its latent shape, times in [0, 1) and labels 0..K (K the null label).
/// </summary>
public abstract class DenoiserContractTests
{
    protected abstract IDenoiser CreateDenoiser(long seed);

    protected virtual int BatchSize => 3;

    (Tensor X, Tensor T, Tensor Y) Inputs(IDenoiser denoiser)
    {
        var generator = new Generator(21);
        var x = torch.randn(denoiser.LatentShape.WithBatch(BatchSize), generator: generator);
        var t = torch.rand(BatchSize, generator: generator);
        var y = torch.randint(0, denoiser.NumClasses + 1, [BatchSize], dtype: int64, generator: generator);
        return (x, t, y);
    }

    [Fact]
    public void Velocity_has_the_latent_shape_and_dtype()
    {
        using var denoiser = CreateDenoiser(1);
        using var scope = NewDisposeScope();
        var (x, t, y) = Inputs(denoiser);
        var v = denoiser.Forward(x, t, y);
        Assert.Equal(x.shape, v.shape);
        Assert.Equal(ScalarType.Float32, v.dtype);
        Assert.True(v.isfinite().all().item<bool>(), "velocity contains NaN or infinity");
    }

    [Fact]
    public void The_null_label_is_the_class_count()
    {
        using var denoiser = CreateDenoiser(1);
        Assert.Equal(denoiser.NumClasses, denoiser.NullLabel);
    }

    [Fact]
    public void Forward_is_deterministic_under_a_seed()
    {
        using var first = CreateDenoiser(4);
        using var second = CreateDenoiser(4);
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (x, t, y) = Inputs(first);
        Assert.True(first.Forward(x, t, y).equal(second.Forward(x, t, y)).all().item<bool>(),
            "two denoisers built with the same seed differ (or Forward is random)");
    }

    [Fact]
    public void The_velocity_is_differentiable_in_the_module_parameters()
    {
        using var denoiser = CreateDenoiser(1);
        using var scope = NewDisposeScope();
        denoiser.Module.train();
        var (x, t, y) = Inputs(denoiser);
        var v = denoiser.Forward(x, t, y);
        Assert.True(v.requires_grad, "Forward returned no graph: the denoiser is trained through it (train)");
        (v - x).square().mean().backward(); // a regression target: a zero-initialized output layer still gets a gradient
        Assert.Contains(denoiser.Module.parameters(), p => p.grad is { } grad && grad.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Forward_leaves_no_tensor_undisposed()
    {
        using var denoiser = CreateDenoiser(1);
        var (x, t, y) = Inputs(denoiser);
        using var noGrad = torch.no_grad();
        TensorLeaks.AssertNone(() => denoiser.Forward(x, t, y), "Forward");
        x.Dispose();
        t.Dispose();
        y.Dispose();
    }
}
