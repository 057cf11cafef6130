using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Decoders.VitDecoder;
using RaePipeline.Encoders.DinoV2;
using RaePipeline.Encoders.Mae;
using RaePipeline.Encoders.SigLip2;
using RaePipeline.VisionTransformers;
using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoder.Tests;

public class RandomInitializationTests
{
    internal static T Tiny<T>() where T : VisionEncoderOptions, new() => new()
    {
        HiddenSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2, PatchSize = 4, ImageSize = 12, MlpRatio = 2,
        InputSize = 8,
    };

    internal static ComponentContext Context(long seed, ILoggerFactory? logger = null) => new()
    {
        Device = CPU, Seed = seed, BaseDirectory = Path.GetTempPath(), LoggerFactory = logger ?? new RecordingLoggerFactory(),
    };

    public static TheoryData<string> Encoders => ["dinov2", "siglip2", "mae"];

    static IEncoder Create(string name, ComponentContext context) => name switch
    {
        "dinov2" => DinoV2Registrar.Registration.Create(context, Tiny<DinoV2Options>()),
        "siglip2" => SigLip2Registrar.Registration.Create(context, Tiny<SigLip2Options>()),
        _ => MaeRegistrar.Registration.Create(context, Tiny<MaeOptions>()),
    };

    static ComponentDescription Describe(string name, ComponentContext context) => name switch
    {
        "dinov2" => DinoV2Registrar.Registration.Describe!(context, Tiny<DinoV2Options>()),
        "siglip2" => SigLip2Registrar.Registration.Describe!(context, Tiny<SigLip2Options>()),
        _ => MaeRegistrar.Registration.Describe!(context, Tiny<MaeOptions>()),
    };

    [Theory]
    [MemberData(nameof(Encoders))]
    public void Without_weights_an_encoder_is_built_from_options_seeded_and_warns(string name)
    {
        var log = new RecordingLoggerFactory();
        using var first = Create(name, Context(seed: 5, log));
        using var same = Create(name, Context(seed: 5));
        using var other = Create(name, Context(seed: 6));
        using var generator = new Generator(0);
        using var images = rand([2, 3, 11, 11], generator: generator);

        var description = Describe(name, Context(5));
        description.Latent.Should().Be(new LatentShape(16, 2, 2));
        description.Warnings.Should().ContainSingle(w => w.Contains("randomly initialized"));
        first.LatentShape.Should().Be(description.Latent);
        log.Lines.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.Contains("RANDOMLY INITIALIZED") && e.Message.Contains(name));

        using var a = first.Encode(images);
        using var b = same.Encode(images);
        using var c = other.Encode(images);
        a.shape.Should().Equal(2, 16, 2, 2);
        a.SameValues(b).Should().BeTrue("the same seed gives the same encoder");
        a.SameValues(c).Should().BeFalse("another seed gives another encoder");
        // Affine-free final LayerNorm: every token is standardized across channels.
        using var perToken = a.mean([1]).abs().max();
        perToken.item<float>().Should().BeLessThan(1e-5f);
    }

    [Fact]
    public void Missing_architecture_options_are_named()
    {
        var act = () => DinoV2Encoder.Create(Context(0), new DinoV2Options { HiddenSize = 16, PatchSize = 4 });
        act.Should().Throw<ComponentConfigurationException>()
            .Where(e => e.Message.Contains("num_hidden_layers") && e.Message.Contains("num_attention_heads") && e.Message.Contains("image_size"));
    }

    [Fact]
    public void A_decoder_from_a_preset_is_seeded_trainable_and_loads_a_training_checkpoint_ema()
    {
        var latent = new LatentShape(8, 2, 2);
        var options = new VitDecoderOptions
        {
            Preset = "ViT-B", HiddenSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 32, PatchSize = 2,
        };
        var context = new ComponentContext
        {
            Device = CPU, Seed = 3, BaseDirectory = Path.GetTempPath(), EncoderLatent = latent,
            EncoderImageNormalization = ImageNormalization.ImageNet,
        };
        using var decoder = VitDecoderRegistrar.Registration.Create(context, options);
        decoder.OutputSize.Should().Be(4);
        using var generator = new Generator(1);
        using var latents = randn([2, 8, 2, 2], generator: generator);
        using var images = decoder.Decode(latents);
        images.shape.Should().Equal(2, 3, 4, 4);
        images.requires_grad.Should().BeTrue("decoding is differentiable for training");

        // An official training checkpoint's state dict holds the whole RAE under DDP/compile wrappers.
        var folder = Directory.CreateTempSubdirectory("rae-decoder-ckpt-");
        try
        {
            var wrapped = decoder.Module.state_dict()
                .Select(kv => new KeyValuePair<string, Tensor>("module._orig_mod.decoder." + kv.Key, kv.Value))
                .Append(new("module._orig_mod.encoder.embeddings.cls_token", zeros(1, 1, 8)))
                .ToList();
            var path = Path.Combine(folder.FullName, "ema.safetensors");
            SafeTensorsFile.Write(path, wrapped);
            using var reloaded = VitDecoderRegistrar.Registration.Create(
                new ComponentContext
                {
                    Device = CPU, Seed = 99, BaseDirectory = folder.FullName, WeightsPath = path, EncoderLatent = latent,
                    EncoderImageNormalization = ImageNormalization.ImageNet,
                }, options);
            using var _ = no_grad();
            using var again = reloaded.Decode(latents);
            again.SameValues(images.detach()).Should().BeTrue("the checkpoint's decoder weights were loaded");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Decoder_without_size_or_latent_explains_what_is_needed()
    {
        var context = new ComponentContext { Device = CPU, BaseDirectory = Path.GetTempPath(), EncoderImageNormalization = ImageNormalization.ImageNet };
        var noSize = () => VitDecoder.Describe(context, new VitDecoderOptions { LatentChannels = 8, LatentGrid = 2 });
        noSize.Should().Throw<ComponentConfigurationException>().Where(e => e.Message.Contains("preset") && e.OptionKey == "preset");
        var noLatent = () => VitDecoder.Describe(context, new VitDecoderOptions { Preset = "ViT-XL" });
        noLatent.Should().Throw<ComponentConfigurationException>().Where(e => e.Message.Contains("latent_channels"));
        var badPreset = () => VitDecoder.Describe(context, new VitDecoderOptions { Preset = "ViT-H", LatentChannels = 8, LatentGrid = 2 });
        badPreset.Should().Throw<ComponentConfigurationException>().Where(e => e.Message.Contains("ViT-H") && e.Message.Contains("ViT-XL"));
    }
}
