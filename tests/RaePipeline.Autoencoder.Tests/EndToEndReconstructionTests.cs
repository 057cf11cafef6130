using RaePipeline.Decoders.VitDecoder;
using RaePipeline.Encoders.DinoV2;
using RaePipeline.Latents;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoder.Tests;

public class EndToEndReconstructionTests
{
    [ParityFact("end_to_end"), Trait("Category", "Parity")]
    public void Encode_normalize_denormalize_decode_matches_the_reference_reconstruction()
    {
        using var c = ParityKit.Open("end_to_end");
        var encoderFolder = c.Path(c.Get<string>("encoder_folder"));
        var decoderFolder = c.Path(c.Get<string>("decoder_folder"));
        // "decoder_weights" reads "../decoder/model.pt (same tensors: ...)": the path is its first word.
        var decoderWeights = c.Path(c.Get<string>("decoder_weights").Split(' ')[0]);
        var statsFile = Path.Combine(decoderFolder, c.Get<string>("stats_file"));

        using var encoder = DinoV2Registrar.Registration.Create(TestContexts.For(encoderFolder, c.Folder),
            new DinoV2Options { InputSize = c.Get<int>("encoder_input_size") });
        var latentSize = c.GetArray<int>("latent_size");
        encoder.LatentShape.Should().Be(new RaePipeline.Abstractions.LatentShape(latentSize[0], latentSize[1], latentSize[2]));
        encoder.ImageNormalization.SameAs(TestContexts.Normalization(c)).Should().BeTrue();

        var decoderContext = TestContexts.For(decoderWeights, c.Folder,
            encoderNormalization: encoder.ImageNormalization, encoderLatent: encoder.LatentShape);
        using var decoder = VitDecoderRegistrar.Registration.Create(decoderContext,
            new VitDecoderOptions { PatchSize = c.Get<int>("decoder_patch_size"), Config = Path.Combine(decoderFolder, "config.json") });
        using var statistics = LatentStatistics.Load(statsFile);

        using var raw = encoder.Encode(c["images"]);
        TensorAssert.Close(raw, c["recon/latents_raw"], what: "recon/latents_raw");
        using var normalized = statistics.Normalize(raw);
        TensorAssert.Close(normalized, c["recon/latents"], what: "recon/latents");
        using var _ = no_grad();
        using var denormalized = statistics.Denormalize(normalized);
        using var reconstruction = decoder.Decode(denormalized);
        TensorAssert.Close(reconstruction, c["recon/reconstruction"], what: "recon/reconstruction");
    }
}
