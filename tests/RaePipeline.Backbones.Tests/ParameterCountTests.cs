using RaePipeline.Backbones.DiffusionTransformers;
using TorchSharp;

namespace RaePipeline.Backbones.Tests;

public class ParameterCountTests
{
    // rae-reference.md section 5.1 (C = 768, 16x16 tokens, 1000 classes), in millions
    [Theory]
    [InlineData("S", false, 33.7)]
    [InlineData("B", false, 131.9)]
    [InlineData("L", false, 459.9)]
    [InlineData("XL", false, 677.3)]
    [InlineData("S", true, 196.5)]
    [InlineData("B", true, 294.3)]
    [InlineData("L", true, 621.7)]
    [InlineData("XL", true, 838.7)]
    public void Analytic_count_matches_the_reference_table(string preset, bool withHead, double millions)
    {
        var spec = DiffusionTransformersRegistrar.ReferenceSpec(
            withHead ? DiffusionTransformerKind.DiTDH : DiffusionTransformerKind.LightningDiT,
            SizePresets.Backbone(preset), withHead ? SizePresets.Head(SizePresets.DefaultHead) : null);
        (spec.ParameterCount() / 1e6).Should().BeApproximately(millions, 0.1);
    }

    public static TheoryData<string, DiffusionTransformerKind, DiffusionTransformerFlags, int> SmallModels => new()
    {
        { "released lightning", DiffusionTransformerKind.LightningDiT, DiffusionTransformerFlags.Released, 1 },
        { "released dit-dh", DiffusionTransformerKind.DiTDH, DiffusionTransformerFlags.Released, 1 },
        { "qk-norm, GELU MLP, no shift", DiffusionTransformerKind.LightningDiT,
            new DiffusionTransformerFlags { UseQkNorm = true, UseSwiGlu = false, WoShift = true, LearnSigma = true }, 1 },
        { "LayerNorm with qk-norm, no RoPE, no pos_embed", DiffusionTransformerKind.DiTDH,
            new DiffusionTransformerFlags { UseQkNorm = true, UseRmsNorm = false, UseRope = false, UsePosEmbed = false }, 1 },
        { "patch 2", DiffusionTransformerKind.DiTDH, DiffusionTransformerFlags.Released, 2 },
    };

    [Theory]
    [MemberData(nameof(SmallModels))]
    public void Analytic_count_equals_the_built_modules_count(string what, DiffusionTransformerKind kind,
        DiffusionTransformerFlags flags, int patchSize)
    {
        var spec = SmallSpec(kind, flags, patchSize);
        using var module = DiffusionTransformerDenoiser.CreateModule(spec);
        long actual = module.parameters().Sum(p => p.numel());
        spec.ParameterCount().Should().Be(actual, what);
    }

    [Fact]
    public void Plugin_details_list_every_preset_with_its_count()
    {
        var lightning = Registrations.LightningDiT.Details!().ToList();
        var ditdh = Registrations.DiTDH.Details!().ToList();
        foreach (var preset in SizePresets.Backbones.Keys)
        {
            lightning.Should().Contain(line => line.TrimStart().StartsWith(preset + " "));
            ditdh.Should().Contain(line => line.TrimStart().StartsWith(preset + " "));
        }
        ditdh.Should().Contain(line => line.TrimStart().StartsWith("XL ") && line.EndsWith(": 838.7M"));
        lightning.Should().Contain(line => line.TrimStart().StartsWith("XL ") && line.EndsWith(": 677.2M"));
    }

    internal static DiffusionTransformerSpec SmallSpec(DiffusionTransformerKind kind, DiffusionTransformerFlags flags,
        int patchSize = 1) => new()
    {
        Kind = kind,
        InChannels = 12,
        InputSize = 4,
        PatchSize = patchSize,
        Backbone = new TransformerSize(16, 2, 2),
        Head = kind == DiffusionTransformerKind.DiTDH ? new TransformerSize(24, 1, 3) : null,
        NumClasses = 5,
        Flags = flags,
    };
}
