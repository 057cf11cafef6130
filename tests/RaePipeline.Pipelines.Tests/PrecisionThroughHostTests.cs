using RaePipeline.Weights;
using static TorchSharp.torch;

namespace RaePipeline.Pipelines.Tests;

/// <summary>The precision named in YAML, with --set or as a job option reaches the job: rae encode computes in bf16.</summary>
public class PrecisionThroughHostTests
{
    [ParityFact("dinov2")]
    [Trait("Category", "Parity")]
    public void Rae_encode_in_bf16_by_job_option_and_by_set_gives_bf16_latents()
    {
        using var rae = new Rae();
        using var kit = ParityKit.Open("dinov2");
        var pipeline = rae.Write("encode.yaml", $$"""
            device: cpu
            encoder:
              name: dinov2
              weights: {{Rae.Yaml(kit.Folder)}}
              options: { input_size: {{kit.Get<int>("encoder_input_size")}} }
            """);
        Tensor Encode(params string[] extra)
        {
            var output = Path.Combine(rae.Folder, $"latents-{Guid.NewGuid():N}.safetensors");
            rae.Run(["encode", pipeline, "--input", kit.Path("case.safetensors"), "--output", output, .. extra]);
            return SafeTensorsFile.Read(output)["latents"];
        }
        using var fp32 = Encode();
        using var byOption = Encode("--precision", "bf16");
        using var bySet = Encode("--set", "precision=bf16");
        TensorAssert.Close(fp32, kit["latents"], what: "fp32 latents");
        bySet.SameValues(byOption).Should().BeTrue("both ways select the same precision");
        double deviation = (byOption - kit["latents"]).abs().max().item<float>() / kit["latents"].abs().max().item<float>();
        deviation.Should().BeInRange(1e-4, 3.5e-2, "bf16 latents: measured 4.2e-3 relative (ReducedPrecisionTests)");
    }
}
