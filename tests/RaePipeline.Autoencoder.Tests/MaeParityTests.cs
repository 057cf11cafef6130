using RaePipeline.Abstractions;
using RaePipeline.Encoders.Mae;

namespace RaePipeline.Autoencoder.Tests;

public class MaeParityTests
{
    [ParityFact("mae"), Trait("Category", "Parity")]
    public void Every_intermediate_of_the_encode_matches_the_reference()
    {
        using var c = ParityKit.Open("mae");
        var context = TestContexts.For(c.Folder, c.Folder);
        var options = new MaeOptions { InputSize = c.Get<int>("encoder_input_size") };
        using var encoder = (MaeEncoder)MaeRegistrar.Registration.Create(context, options);

        encoder.ImageNormalization.SameAs(TestContexts.Normalization(c)).Should().BeTrue();
        var latentShape = c.GetArray<int>("latent_shape");
        encoder.LatentShape.Should().Be(new LatentShape(latentShape[1], latentShape[2], latentShape[3]));
        MaeRegistrar.Registration.Describe!(context, options).Latent.Should().Be(encoder.LatentShape);

        using var trace = encoder.Trace(c["images"]);
        using var positions = encoder.Model.PositionEmbeddings(latentShape[2], latentShape[3]);
        EncoderCaseAssert.TraceMatches(trace, positions, c, "position_embeddings_interpolated");
    }

    [ParityFact("mae"), Trait("Category", "Parity")]
    public void Stored_position_table_is_the_sin_cos_table_a_random_init_computes()
    {
        using var c = ParityKit.Open("mae");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(c.Path("config.json")))!;
        var stored = c.ReadSafeTensors("model.safetensors")["vit.embeddings.position_embeddings"];
        var options = new MaeOptions
        {
            HiddenSize = config["hidden_size"]!.GetValue<int>(),
            NumHiddenLayers = 1,
            NumAttentionHeads = config["num_attention_heads"]!.GetValue<int>(),
            PatchSize = config["patch_size"]!.GetValue<int>(),
            ImageSize = config["image_size"]!.GetValue<int>(),
            IntermediateSize = config["intermediate_size"]!.GetValue<int>(),
        };
        using var encoder = MaeEncoder.Create(TestContexts.For(null, c.Folder), options);
        TensorAssert.Close(encoder.Model.state_dict()["embeddings.position_embeddings"], stored, 1e-6, 1e-6, "sin-cos table");
    }
}
