using RaePipeline.Abstractions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace RaePipeline.Abstractions.Testing;

/// <summary>
/// Contract tests for an <see cref="IDecoder"/>: derive and build yours in <see cref="CreateDecoder"/>; each test
/// builds a fresh one. Inputs are random latents of the decoder's latent shape.
/// </summary>
public abstract class DecoderContractTests
{
    /// <summary>A new decoder; two calls with the same seed must give decoders that compute the same function.</summary>
    protected abstract IDecoder CreateDecoder(long seed);

    protected virtual int BatchSize => 2;

    Tensor Latents(IDecoder decoder, long seed) =>
        torch.randn(decoder.LatentShape.WithBatch(BatchSize), generator: new Generator((ulong)seed));

    [Fact]
    public void Images_have_the_output_size_and_dtype()
    {
        using var decoder = CreateDecoder(1);
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var images = decoder.Decode(Latents(decoder, 7));
        Assert.Equal([BatchSize, 3, decoder.OutputSize, decoder.OutputSize], images.shape);
        Assert.Equal(ScalarType.Float32, images.dtype);
        Assert.True(images.isfinite().all().item<bool>(), "images contain NaN or infinity");
    }

    [Fact]
    public void Decoding_is_deterministic_under_a_seed()
    {
        using var first = CreateDecoder(3);
        using var second = CreateDecoder(3);
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var latents = Latents(first, 11);
        var a = first.Decode(latents);
        Assert.True(a.equal(first.Decode(latents)).all().item<bool>(), "the same decoder gave two different results for one input");
        Assert.True(a.equal(second.Decode(latents)).all().item<bool>(), "two decoders built with the same seed differ");
    }

    [Fact]
    public void Decoding_is_differentiable_in_the_module_parameters()
    {
        using var decoder = CreateDecoder(1);
        using var scope = NewDisposeScope();
        decoder.Module.train();
        var images = decoder.Decode(Latents(decoder, 5));
        Assert.True(images.requires_grad, "Decode returned no graph: the decoder is trained through it (train-decoder)");
        (images - 0.5).square().mean().backward();
        Assert.Contains(decoder.Module.parameters(), p => p.grad is { } grad && grad.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Decode_leaves_no_tensor_undisposed()
    {
        using var decoder = CreateDecoder(1);
        using var latents = Latents(decoder, 5);
        using var noGrad = torch.no_grad();
        TensorLeaks.AssertNone(() => decoder.Decode(latents), "Decode");
    }
}
