using RaePipeline.Abstractions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace RaePipeline.Abstractions.Testing;

/// <summary>
/// Derive from this in your plugin's test project and build your encoder in <see cref="CreateEncoder"/>; each test
/// builds a fresh one. Inputs are random images at the encoder's input size.
/// </summary>
public abstract class EncoderContractTests
{
    /// <summary>A new encoder; two calls with the same seed must give encoders that compute the same function.</summary>
    protected abstract IEncoder CreateEncoder(long seed);

    protected virtual int BatchSize => 2;

    Tensor Images(IEncoder encoder, long seed, int? side = null) =>
        torch.rand([BatchSize, 3, side ?? encoder.InputSize, side ?? encoder.InputSize], generator: new Generator((ulong)seed));

    [Fact]
    public void Latents_have_the_declared_shape_and_dtype()
    {
        using var encoder = CreateEncoder(1);
        using var scope = NewDisposeScope();
        var latents = encoder.Encode(Images(encoder, 7));
        Assert.Equal(encoder.LatentShape.WithBatch(BatchSize), latents.shape);
        Assert.Equal(ScalarType.Float32, latents.dtype);
        Assert.True(latents.isfinite().all().item<bool>(), "latents contain NaN or infinity");
    }

    [Fact]
    public void Images_of_another_size_are_resized_to_the_input_size()
    {
        using var encoder = CreateEncoder(1);
        using var scope = NewDisposeScope();
        var latents = encoder.Encode(Images(encoder, 7, encoder.InputSize + 8));
        Assert.Equal(encoder.LatentShape.WithBatch(BatchSize), latents.shape);
    }

    [Fact]
    public void Encoding_is_deterministic_under_a_seed()
    {
        using var first = CreateEncoder(3);
        using var second = CreateEncoder(3);
        using var scope = NewDisposeScope();
        var images = Images(first, 11);
        var a = first.Encode(images);
        var b = first.Encode(images);
        var c = second.Encode(images);
        Assert.True(a.equal(b).all().item<bool>(), "the same encoder gave two different results for one input");
        Assert.True(a.equal(c).all().item<bool>(), "two encoders built with the same seed differ");
    }

    [Fact]
    public void A_frozen_encoder_lets_no_gradient_through()
    {
        using var encoder = CreateEncoder(1);
        using var scope = NewDisposeScope();
        var images = Images(encoder, 5).requires_grad_(true);
        var latents = encoder.Encode(images);
        Assert.False(latents.requires_grad, "Encode returned a tensor that requires grad: run it under torch.no_grad()");
    }

    [Fact]
    public void Encode_leaves_no_tensor_undisposed()
    {
        using var encoder = CreateEncoder(1);
        using var images = Images(encoder, 5);
        TensorLeaks.AssertNone(() => encoder.Encode(images), "Encode");
    }
}
