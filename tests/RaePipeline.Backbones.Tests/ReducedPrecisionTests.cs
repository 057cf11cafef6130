using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.Tests;

/// <summary>
/// bf16 compute (<see cref="ComputePrecision"/>) on the kit's DiT^DH and LightningDiT cases: the velocity stays close
/// to the float32 reference, is float32 itself, and training keeps float32 master weights with float32 gradients.
/// The tolerance comes from measurement on the kit (see <see cref="Bf16VelocityTolerance"/>).
/// </summary>
[Trait("Category", "Parity")]
public class ReducedPrecisionTests(ITestOutputHelper output)
{
    /// <summary>
    /// Max |v_bf16 − v_expected| / max |v_expected| allowed for one forward. Measured on the kit's cases: 7.8e-3
    /// (ditdh) and 5.4e-3 (lightningdit); bf16 keeps 8 significant bits (rounding 2⁻⁹ ≈ 2e-3 relative per
    /// operation) and the error grows with depth, so about 4x the larger figure leaves room for kits of other sizes.
    /// </summary>
    const double Bf16VelocityTolerance = 3e-2;

    /// <summary>Relative L2 difference of all gradients, bf16 vs fp32 training. Measured on the ditdh case: 5.9e-3.</summary>
    const double Bf16GradientTolerance = 3e-2;

    static IDenoiser Build(string caseName, ParityCase c) => caseName == "ditdh"
        ? Registrations.DiTDH.Create(Registrations.Context(c.Path("model.safetensors"), baseDirectory: c.Folder), new DiTDHOptions { Config = "model.yaml" })
        : Registrations.LightningDiT.Create(Registrations.Context(c.Path("model.safetensors"), baseDirectory: c.Folder), new LightningDiTOptions { Config = "model.yaml" });

    static double RelativeDeviation(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var e = expected.to(float64);
        return ((actual.to(float64) - e).abs().max() / e.abs().max()).item<double>();
    }

    [ParityFact("ditdh")]
    public void Ditdh_bf16_velocity_is_float32_and_close_to_the_reference() => CheckBf16Velocity("ditdh");

    [ParityFact("lightningdit")]
    public void Lightningdit_bf16_velocity_is_float32_and_close_to_the_reference() => CheckBf16Velocity("lightningdit");

    void CheckBf16Velocity(string caseName)
    {
        using var c = ParityKit.Open(caseName);
        using var denoiser = Build(caseName, c);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var fp32 = denoiser.Forward(c["x"], c["t"], c["y"]);
        Tensor bf16, uncached;
        using (ComputePrecision.Use(Precision.Bf16, cacheWeights: true))
            bf16 = denoiser.Forward(c["x"], c["t"], c["y"]);
        using (ComputePrecision.Use(Precision.Bf16))
            uncached = denoiser.Forward(c["x"], c["t"], c["y"]);
        double deviation = RelativeDeviation(bf16, c["v"]);
        output.WriteLine($"{caseName}: bf16 velocity max abs deviation {(bf16 - c["v"]).abs().max().item<float>():E3}, " +
                         $"relative to max |v| {deviation:E3} (fp32: {RelativeDeviation(fp32, c["v"]):E3})");
        bf16.dtype.Should().Be(ScalarType.Float32);
        bf16.SameValues(uncached).Should().BeTrue("a cached bf16 weight is the same cast as a per-call one");
        deviation.Should().BeGreaterThan(1e-5, "bf16 really computed in bf16");
        deviation.Should().BeLessThan(Bf16VelocityTolerance);
        denoiser.Module.parameters().Should().OnlyContain(p => p.dtype == ScalarType.Float32, "the weights stay float32");
    }

    [ParityFact("ditdh")]
    public void An_fp32_scope_runs_the_same_operations_as_no_scope()
    {
        using var c = ParityKit.Open("ditdh");
        using var denoiser = Build("ditdh", c);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var outside = denoiser.Forward(c["x"], c["t"], c["y"]);
        using (ComputePrecision.Use(Precision.Fp32, cacheWeights: true))
            denoiser.Forward(c["x"], c["t"], c["y"]).SameValues(outside).Should().BeTrue();
    }

    [ParityFact("ditdh")]
    public void Bf16_training_gives_float32_gradients_close_to_float32_training()
    {
        using var c = ParityKit.Open("ditdh");
        using var denoiser = Build("ditdh", c);
        var module = denoiser.Module;
        module.train();
        var parameters = module.parameters().Where(p => p.requires_grad).ToList();
        List<Tensor> Gradients(Precision precision)
        {
            foreach (var p in parameters) p.grad = null;
            using var scope = NewDisposeScope();
            using (ComputePrecision.Use(precision))
                denoiser.Forward(c["x"], c["t"], c["y"]).square().mean().backward();
            return parameters.Select(p => p.grad!.clone().DetachFromDisposeScope()).ToList();
        }
        var fp32 = Gradients(Precision.Fp32);
        var bf16 = Gradients(Precision.Bf16);
        using var check = NewDisposeScope();
        bf16.Should().OnlyContain(g => g.dtype == ScalarType.Float32);
        parameters.Should().OnlyContain(p => p.dtype == ScalarType.Float32);
        var all32 = cat(fp32.Select(g => g.flatten()).ToList());
        var all16 = cat(bf16.Select(g => g.flatten()).ToList());
        double relative = ((all16 - all32).norm() / all32.norm()).item<float>();
        output.WriteLine($"bf16 vs fp32 gradient: relative L2 difference {relative:E3}");
        relative.Should().BeGreaterThan(0).And.BeLessThan(Bf16GradientTolerance);
        foreach (var g in fp32.Concat(bf16)) g.Dispose();
    }
}
