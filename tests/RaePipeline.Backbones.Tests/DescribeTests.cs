using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;

namespace RaePipeline.Backbones.Tests;

public class DescribeTests
{
    static readonly LatentShape DinoB = new(768, 16, 16);

    [Fact]
    public void Describe_gives_latent_and_classes_from_options()
    {
        var description = Registrations.DiTDH.Describe!(Registrations.Context(),
            new DiTDHOptions { Preset = "S", InChannels = 32, InputSize = 8, NumClasses = 10 });
        description.Latent.Should().Be(new LatentShape(32, 8, 8));
        description.NumClasses.Should().Be(10);
        description.Warnings.Should().BeEmpty();
    }

    [Fact]
    public void Narrow_lightning_dit_gets_the_width_warning_and_wide_ones_do_not()
    {
        var narrow = Registrations.LightningDiT.Describe!(Registrations.Context(latent: DinoB), new LightningDiTOptions { Preset = "S" });
        narrow.Warnings.Should().ContainSingle().Which.Should().Contain("384 < 768");
        var wide = Registrations.LightningDiT.Describe!(Registrations.Context(latent: DinoB), new LightningDiTOptions { Preset = "XL" });
        wide.Warnings.Should().BeEmpty();
        wide.Latent.Should().Be(DinoB);
        wide.NumClasses.Should().Be(1000);
    }

    [Fact]
    public void DiT_DH_is_judged_by_its_head_width()
    {
        var s = Registrations.DiTDH.Describe!(Registrations.Context(latent: DinoB), new DiTDHOptions { Preset = "S" });
        s.Warnings.Should().BeEmpty("the 2048-wide head meets the width requirement");
        var narrowHead = Registrations.DiTDH.Describe!(Registrations.Context(latent: DinoB),
            new DiTDHOptions { Preset = "S", HiddenSize = [384, 512] });
        narrowHead.Warnings.Should().ContainSingle().Which.Should().Contain("512 < 768");
    }

    [Fact]
    public void Sizes_that_disagree_with_the_encoder_or_unknown_presets_are_refused_with_their_option()
    {
        var mismatch = () => Registrations.DiTDH.Describe!(Registrations.Context(latent: DinoB), new DiTDHOptions { InChannels = 384 });
        mismatch.Should().Throw<ComponentConfigurationException>().Where(e => e.OptionKey == "in_channels");
        var preset = () => Registrations.LightningDiT.Describe!(Registrations.Context(latent: DinoB), new LightningDiTOptions { Preset = "XXL" });
        preset.Should().Throw<ComponentConfigurationException>().Where(e => e.OptionKey == "preset" && e.Message.Contains("XL"));
        var entry = () => Registrations.DiTDH.Create(Registrations.Context(latent: new LatentShape(12, 4, 4)),
            new DiTDHOptions { HiddenSize = [16, 24], Depth = [1, 1], NumHeads = [2, 3], CheckpointEntry = "best" });
        entry.Should().Throw<ComponentConfigurationException>().Where(e => e.OptionKey == "checkpoint_entry");
        var unknownLatent = () => Registrations.LightningDiT.Describe!(Registrations.Context(), new LightningDiTOptions());
        unknownLatent.Should().Throw<ComponentConfigurationException>().Where(e => e.OptionKey == "in_channels");
    }

    [ParityFact("ditdh")]
    public void Config_of_the_other_model_class_is_refused()
    {
        var kit = ParityKit.CaseFolder("ditdh");
        var act = () => Registrations.LightningDiT.Describe!(Registrations.Context(baseDirectory: kit), new LightningDiTOptions { Config = "model.yaml" });
        act.Should().Throw<ComponentConfigurationException>().Where(e => e.Message.Contains("DiTwDDTHead") && e.FilePath!.EndsWith("model.yaml"));
    }
}
