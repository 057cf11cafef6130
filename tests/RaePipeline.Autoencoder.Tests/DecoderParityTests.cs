using RaePipeline.Abstractions;
using RaePipeline.Decoders.VitDecoder;
using RaePipeline.VisionTransformers;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoder.Tests;

public class DecoderParityTests
{
    /// <summary>The decoder options the kit's decoder case was built with (every size from the kit).</summary>
    internal static VitDecoderOptions KitOptions(ParityCase c) => new()
    {
        PatchSize = c.Get<int>("decoder_patch_size"),
        LatentChannels = c.Get<int>("token_dim"),
        LatentGrid = (int)Math.Round(Math.Sqrt(c.Get<int>("num_tokens"))),
        ImageMean = c.GetArray<float>("image_mean"),
        ImageStd = c.GetArray<float>("image_std"),
        Config = "config.json",
    };

    [ParityTheory("decoder"), Trait("Category", "Parity")]
    [InlineData("model.pt")]
    [InlineData("model.safetensors")]
    public void Logits_and_images_match_from_tokens_and_from_2d_latents(string weightsFile)
    {
        using var c = ParityKit.Open("decoder");
        using var decoder = VitDecoder.Create(TestContexts.For(c.Path(weightsFile), c.Folder), KitOptions(c));

        decoder.OutputSize.Should().Be(c.Get<int>("output_image_size"));
        using (no_grad())
        {
            using var logits = decoder.Network.forward(c["tokens"]);
            TensorAssert.Close(logits, c["logits"], what: $"{weightsFile}: logits");
            using var images = decoder.ToImages(logits);
            TensorAssert.Close(images, c["images"], what: $"{weightsFile}: images");

            using var grid = PatchLayout.TokensToGrid(c["tokens"], decoder.LatentShape.Height, decoder.LatentShape.Width);
            grid.SameValues(c["latents_2d"]).Should().BeTrue("latents_2d is the tokens in the 2-D layout");
            using var decoded = decoder.Decode(c["latents_2d"]);
            TensorAssert.Close(decoded, c["images"], what: $"{weightsFile}: images via 2-D latents");
        }
    }

    [ParityFact("decoder")]
    public void Nan_decoder_weights_are_refused_at_load_naming_the_file_and_the_tensor()
    {
        using var c = ParityKit.Open("decoder");
        var folder = Directory.CreateTempSubdirectory("rae-nan-decoder-");
        try
        {
            var tensors = RaePipeline.Weights.SafeTensorsFile.Read(c.Path("model.safetensors"));
            var poisoned = tensors.Keys.Where(k => tensors[k].is_floating_point()).Order(StringComparer.Ordinal).First();
            tensors[poisoned] = tensors[poisoned].clone();
            tensors[poisoned].view(-1)[0] = float.NaN;
            var path = Path.Combine(folder.FullName, "model.safetensors");
            RaePipeline.Weights.SafeTensorsFile.Write(path, tensors);
            var act = () => VitDecoder.Create(TestContexts.For(path, c.Folder), KitOptions(c));
            act.Should().Throw<ComponentConfigurationException>()
                .Where(e => e.Message.Contains(path) && e.Message.Contains(poisoned) && e.Message.Contains("1 NaN"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [ParityFact("decoder"), Trait("Category", "Parity")]
    public void Registrar_builds_the_decoder_from_a_weights_folder_with_the_encoder_context()
    {
        using var c = ParityKit.Open("decoder");
        int grid = (int)Math.Round(Math.Sqrt(c.Get<int>("num_tokens")));
        var context = TestContexts.For(c.Folder, c.Folder,
            encoderNormalization: TestContexts.Normalization(c),
            encoderLatent: new LatentShape(c.Get<int>("token_dim"), grid, grid));
        var options = new VitDecoderOptions { PatchSize = c.Get<int>("decoder_patch_size") };

        var description = VitDecoderRegistrar.Registration.Describe!(context, options);
        using var decoder = VitDecoderRegistrar.Registration.Create(context, options);

        description.ImageSize.Should().Be(c.Get<int>("output_image_size"));
        description.Latent.Should().Be(decoder.LatentShape);
        decoder.Module.parameters().Where(p => p.requires_grad).Should().NotBeEmpty("the decoder is trainable");
        using (no_grad())
        using (var images = decoder.Decode(c["latents_2d"]))
            TensorAssert.Close(images, c["images"], what: "images");
    }

    [ParityFact("decoder"), Trait("Category", "Parity")]
    public void Module_keys_equal_the_official_checkpoint_keys_and_the_stored_position_table_is_sin_cos()
    {
        using var c = ParityKit.Open("decoder");
        using var decoder = VitDecoder.Create(TestContexts.For(null, c.Folder), KitOptions(c));
        var reference = c.ReadSafeTensors("model.safetensors");
        decoder.Module.state_dict().Keys.Should().BeEquivalentTo(reference.Keys);
        var width = reference["decoder_pos_embed"].shape[2];
        TensorAssert.Close(decoder.Module.state_dict()["decoder_pos_embed"], reference["decoder_pos_embed"],
            maxAbs: 1e-6, maxRelativeToMax: 1e-6, what: $"sin-cos table (width {width})");
        decoder.Architecture.ParameterCount.Should().Be(decoder.Module.parameters().Sum(p => p.numel()));
    }
}
