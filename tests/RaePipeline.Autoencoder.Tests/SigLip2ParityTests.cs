using RaePipeline.Abstractions;
using RaePipeline.Encoders.SigLip2;

namespace RaePipeline.Autoencoder.Tests;

public class SigLip2ParityTests
{
    // The kit README: the tanh-vs-erf GELU mistake moves SigLIP latents by only 1.8e-4 relative; check at 5e-5.
    const double LatentTolerance = 5e-5;

    [ParityFact("siglip"), Trait("Category", "Parity")]
    public void Every_intermediate_of_the_encode_matches_the_reference()
    {
        using var c = ParityKit.Open("siglip");
        var context = TestContexts.For(c.Folder, c.Folder);
        var options = new SigLip2Options { InputSize = c.Get<int>("encoder_input_size") };
        using var encoder = (SigLip2Encoder)SigLip2Registrar.Registration.Create(context, options);

        encoder.ImageNormalization.SameAs(TestContexts.Normalization(c)).Should().BeTrue();
        var latentShape = c.GetArray<int>("latent_shape");
        encoder.LatentShape.Should().Be(new LatentShape(latentShape[1], latentShape[2], latentShape[3]));
        SigLip2Registrar.Registration.Describe!(context, options).Latent.Should().Be(encoder.LatentShape);

        using var trace = encoder.Trace(c["images"]);
        using var positions = encoder.Model.PositionEmbeddings(latentShape[2], latentShape[3]);
        EncoderCaseAssert.TraceMatches(trace, positions, c, "position_embeddings_used", LatentTolerance);
        using var latents = encoder.Encode(c["images"]);
        TensorAssert.Close(latents, c["latents"], LatentTolerance, LatentTolerance, "Encode latents");
    }

    [ParityFact("siglip"), Trait("Category", "Parity")]
    public void Text_tower_and_head_keys_are_ignored_and_every_vision_key_is_used()
    {
        using var c = ParityKit.Open("siglip");
        using var encoder = SigLip2Encoder.Create(TestContexts.For(c.Folder, c.Folder), new SigLip2Options());
        var fileKeys = c.ReadSafeTensors("model.safetensors").Keys.ToHashSet();
        foreach (var ignored in c.GetArray<string>("ignored_checkpoint_keys"))
            fileKeys.Should().Contain(ignored, "the case lists keys present in the file");
        var moduleKeys = encoder.Model.state_dict().Keys.Select(k => "vision_model." + k).ToList();
        fileKeys.Should().Contain(moduleKeys);
        fileKeys.Except(moduleKeys).Should().OnlyContain(k =>
            !k.StartsWith("vision_model.") || k.StartsWith("vision_model.head.") || k.StartsWith("vision_model.post_layernorm."));
    }
}
