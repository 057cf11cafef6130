using RaePipeline.Abstractions;
using RaePipeline.Decoders.VitDecoder;
using RaePipeline.Encoders.DinoV2;
using RaePipeline.Encoders.Mae;
using RaePipeline.Encoders.SigLip2;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoder.Tests;

/// <summary>
/// The encoders and the decoder in a bf16 inference scope (what encode, stats, reconstruct and sample open) against
/// the kit's float32 references: float32 outputs, close within the measured bf16 error, and really computed in bf16.
/// </summary>
[Trait("Category", "Parity")]
public class ReducedPrecisionTests(ITestOutputHelper output)
{
    /// <summary>
    /// Max |bf16 − expected| / max |expected| allowed. Measured on the kit (max abs, relative in parentheses): dinov2
    /// latents 1.2e-2 (4.2e-3), siglip2 latents 2.3e-2 (8.8e-3), mae latents 1.2e-2 (3.7e-3), decoder images 3.6e-3
    /// (3.6e-3); fp32 stays below 4e-7 relative. About 4x the largest figure: the affine-free final LayerNorm of the
    /// encoders amplifies the bf16 rounding of the last layer, and deeper models of other kits add to it.
    /// </summary>
    const double Bf16Tolerance = 3.5e-2;

    void Check(string what, Func<Tensor> run, Tensor expected)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var fp32 = run();
        Tensor bf16;
        using (ComputePrecision.Use(Precision.Bf16, cacheWeights: true))
            bf16 = run();
        var e = expected.to(float64);
        double scale = e.abs().max().item<double>();
        double deviation = (bf16.to(float64) - e).abs().max().item<double>();
        double fp32Deviation = (fp32.to(float64) - e).abs().max().item<double>();
        output.WriteLine($"{what}: bf16 max abs deviation {deviation:E3}, relative to max |expected| {deviation / scale:E3} (fp32 {fp32Deviation / scale:E3})");
        bf16.dtype.Should().Be(ScalarType.Float32);
        deviation.Should().BeGreaterThan(10 * fp32Deviation, "bf16 really computed in bf16");
        (deviation / scale).Should().BeLessThan(Bf16Tolerance, what);
    }

    [ParityFact("dinov2")]
    public void Dinov2_latents()
    {
        using var c = ParityKit.Open("dinov2");
        using var encoder = DinoV2Encoder.Create(TestContexts.For(c.Folder, c.Folder), new DinoV2Options { InputSize = c.Get<int>("encoder_input_size") });
        Check("dinov2 latents", () => encoder.Encode(c["images"]), c["latents"]);
    }

    [ParityFact("siglip")]
    public void Siglip2_latents()
    {
        using var c = ParityKit.Open("siglip");
        using var encoder = SigLip2Encoder.Create(TestContexts.For(c.Folder, c.Folder), new SigLip2Options { InputSize = c.Get<int>("encoder_input_size") });
        Check("siglip2 latents", () => encoder.Encode(c["images"]), c["latents"]);
    }

    [ParityFact("mae")]
    public void Mae_latents()
    {
        using var c = ParityKit.Open("mae");
        using var encoder = MaeEncoder.Create(TestContexts.For(c.Folder, c.Folder), new MaeOptions { InputSize = c.Get<int>("encoder_input_size") });
        Check("mae latents", () => encoder.Encode(c["images"]), c["latents"]);
    }

    [ParityFact("decoder")]
    public void Decoder_images()
    {
        using var c = ParityKit.Open("decoder");
        using var decoder = VitDecoder.Create(TestContexts.For(c.Path("model.safetensors"), c.Folder), DecoderParityTests.KitOptions(c));
        Check("decoder images", () => decoder.Decode(c["latents_2d"]), c["images"]);
    }
}
