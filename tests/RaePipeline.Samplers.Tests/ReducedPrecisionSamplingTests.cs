using RaePipeline.Abstractions;
using RaePipeline.FlowMatching;
using RaePipeline.Samplers.FlowMatching;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.Tests;

/// <summary>
/// The fidelity of bf16 sampling, as numbers: the kit's sampler cases (README section 7 (c)-(e)) run in a bf16
/// inference scope (the sample job's: weights cast once and cached) against the float32 reference finals. Every size,
/// step count, scale and interval comes from the kit.
/// </summary>
public class ReducedPrecisionSamplingTests(KitModels models, ITestOutputHelper output) : IClassFixture<KitModels>
{
    /// <summary>
    /// Max |final_bf16 − final_expected| / max |final_expected| allowed. Measured on the kit (max abs deviation of the
    /// final latents, relative in parentheses): euler_cfg 1.5e-2 (3.7e-3), heun2_cfg 1.2e-2 (2.9e-3), midpoint_cfg
    /// 1.0e-2 (2.5e-3), euler_noguidance 1.1e-2 (2.8e-3), euler_autoguidance 1.9e-2 (3.6e-3), against 5e-7 to 8e-7
    /// for fp32. bf16 rounds to 8 significant bits (2⁻⁹ ≈ 2e-3 relative); the tolerance is 4x the largest figure,
    /// room for kits with deeper models or more steps.
    /// </summary>
    const double Bf16FinalTolerance = 1.5e-2;

    ParityCase Kit => models.Kit;

    GuidanceInterval Interval(string key)
    {
        var bounds = Kit.GetArray<double>(key);
        return new GuidanceInterval(bounds[0], bounds[1]);
    }

    VelocityField Field(string tag) => tag switch
    {
        "euler_noguidance" => UnguidedVelocity.Of(models.Main),
        "euler_autoguidance" => new AutoGuidance(models.Main, models.Guide, Kit.Get<double>("ag_scale"), Interval("ag_interval")).Field,
        _ => new ClassifierFreeGuidance(models.Main, Kit.Get<double>("cfg_scale"), Interval("cfg_interval")).Field,
    };

    static string SamplerOf(string tag) => tag.Split('_')[0] switch { "heun2" => "heun", var name => name };

    /// <summary>The kit's doubled-batch run of one case in <paramref name="precision"/>; the first half of the final state.</summary>
    Tensor Final(string tag, Precision precision)
    {
        var sampler = models.Catalog.Create<ISampler, OdeSamplerOptions>(SamplerOf(tag), models.Context, new OdeSamplerOptions
        {
            NumSteps = Kit.Get<int>("num_steps"),
            ShiftBase = Kit.Get<double>("time_dist_shift_base"),
        });
        var (x, y) = GuidanceBatch.Double(Kit["noise"], Kit["labels"], Kit.Get<long>("null_label"));
        using var scope = ComputePrecision.Use(precision, cacheWeights: true);
        return GuidanceBatch.FirstHalf(sampler.Sample(Field(tag), x, y, sampler.TimeGrid(models.Latent)));
    }

    [ParityTheory("sampler")]
    [Trait("Category", "Parity")]
    [InlineData("euler_cfg")]
    [InlineData("heun2_cfg")]
    [InlineData("midpoint_cfg")]
    [InlineData("euler_noguidance")]
    [InlineData("euler_autoguidance")]
    public void Bf16_final_latents_stay_within_the_documented_tolerance(string tag)
    {
        using var scope = NewDisposeScope();
        var expected = Kit[$"{tag}/final"].to(float64);
        var bf16 = Final(tag, Precision.Bf16);
        var fp32 = Final(tag, Precision.Fp32);
        double scale = expected.abs().max().item<double>();
        double deviation = (bf16.to(float64) - expected).abs().max().item<double>();
        double fp32Deviation = (fp32.to(float64) - expected).abs().max().item<double>();
        output.WriteLine($"{tag}: bf16 final max abs deviation {deviation:E3} (relative to max |final| {deviation / scale:E3}; " +
                         $"fp32 {fp32Deviation:E3}), max |final| {scale:F3}");
        bf16.dtype.Should().Be(ScalarType.Float32);
        deviation.Should().BeGreaterThan(10 * fp32Deviation, "the bf16 run really computed in bf16");
        (deviation / scale).Should().BeLessThan(Bf16FinalTolerance);
    }
}
