using RaePipeline.Abstractions;
using RaePipeline.Encoders.DinoV2;

namespace RaePipeline.Autoencoder.Tests;

public class DinoV2ParityTests
{
    [ParityFact("dinov2"), Trait("Category", "Parity")]
    public void Every_intermediate_of_the_encode_matches_the_reference()
    {
        using var c = ParityKit.Open("dinov2");
        int inputSize = c.Get<int>("encoder_input_size");
        using var encoder = DinoV2Encoder.Create(TestContexts.For(c.Folder, c.Folder), new DinoV2Options { InputSize = inputSize });

        encoder.ImageNormalization.SameAs(TestContexts.Normalization(c)).Should().BeTrue("mean/std come from preprocessor_config.json");
        var latentShape = c.GetArray<int>("latent_shape");
        encoder.LatentShape.Should().Be(new LatentShape(latentShape[1], latentShape[2], latentShape[3]));

        using var trace = encoder.Trace(c["images"]);
        using var positions = encoder.Model.PositionEmbeddings(latentShape[2], latentShape[3]);
        EncoderCaseAssert.TraceMatches(trace, positions, c, "position_embeddings_interpolated");
    }

    [ParityFact("dinov2"), Trait("Category", "Parity")]
    public void Registrar_builds_a_frozen_encoder_whose_encode_matches()
    {
        using var c = ParityKit.Open("dinov2");
        var options = new DinoV2Options { InputSize = c.Get<int>("encoder_input_size") };
        var context = TestContexts.For(c.Folder, c.Folder);
        var description = DinoV2Registrar.Registration.Describe!(context, options);
        using var encoder = DinoV2Registrar.Registration.Create(context, options);

        var latentShape = c.GetArray<int>("latent_shape");
        description.Latent.Should().Be(encoder.LatentShape);
        description.ImageSize.Should().Be(encoder.InputSize);
        ((DinoV2Encoder)encoder).Module.parameters().Should().OnlyContain(p => !p.requires_grad);
        ((DinoV2Encoder)encoder).Module.training.Should().BeFalse();
        using var latents = encoder.Encode(c["images"]);
        latents.requires_grad.Should().BeFalse();
        latents.shape.Should().Equal(latentShape.Select(d => (long)d));
        TensorAssert.Close(latents, c["latents"], what: "latents");
    }
}
