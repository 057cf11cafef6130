using RaePipeline.Weights;

namespace RaePipeline.Pipelines.Tests;

/// <summary>Each encoder plugin, named in YAML and run by `rae encode`, gives the kit's latents.</summary>
public class EncodeThroughHostTests
{
    [Theory]
    [ParityInlineData("dinov2", "dinov2", 1e-4)]
    [ParityInlineData("siglip", "siglip2", 5e-5)]
    [ParityInlineData("mae", "mae", 1e-4)]
    [Trait("Category", "Parity")]
    public void Rae_encode_gives_the_kits_latents(string kitCase, string plugin, double tolerance)
    {
        using var rae = new Rae();
        using var kit = ParityKit.Open(kitCase);
        int inputSize = kit.Get<int>("encoder_input_size");
        var pipeline = rae.Write("encode.yaml", $$"""
            device: cpu
            encoder:
              name: {{plugin}}
              weights: {{Rae.Yaml(kit.Folder)}}
              options: { input_size: {{inputSize}} }
            """);
        var output = Path.Combine(rae.Folder, "latents.safetensors");
        rae.Run("encode", pipeline, "--input", kit.Path("case.safetensors"), "--output", output);
        var latents = SafeTensorsFile.Read(output)["latents"];
        TensorAssert.Close(latents, kit["latents"], tolerance, tolerance, $"{plugin} latents through rae encode");
    }
}
