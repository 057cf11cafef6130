using RaePipeline.Weights;
using TorchSharp;

namespace RaePipeline.Pipelines.Tests;

/// <summary>The kit's tiny end-to-end case, run as a pipeline by `rae sample` from the kit's own files.</summary>
public class EndToEndThroughHostTests
{
    [ParityFact("end_to_end")]
    [Trait("Category", "Parity")]
    public void Rae_sample_with_cfg_from_the_kits_noise_gives_the_kits_images()
    {
        using var rae = new Rae();
        using var kit = ParityKit.Open("end_to_end");
        string Kit(string relative) => Rae.Yaml(Path.GetFullPath(Path.Combine(kit.Folder, relative)));
        var interval = kit.GetArray<double>("cfg_interval");
        var pipeline = rae.Write("end_to_end.yaml", $$"""
            device: cpu
            encoder:
              name: dinov2
              weights: {{Kit(kit.Get<string>("encoder_folder"))}}
              options: { input_size: {{kit.Get<int>("encoder_input_size")}} }
            decoder:
              name: vit-decoder
              weights: {{Kit(Path.Combine(kit.Get<string>("decoder_folder"), "model.pt"))}}
              options: { config: {{Kit(Path.Combine(kit.Get<string>("decoder_folder"), "config.json"))}}, patch_size: {{kit.Get<int>("decoder_patch_size")}} }
            statistics: {{Kit(Path.Combine(kit.Get<string>("decoder_folder"), kit.Get<string>("stats_file")))}}
            denoiser:
              name: dit-dh
              weights: {{Kit(Path.Combine(kit.Get<string>("dit_folder"), "checkpoint.pt"))}}
              options: { config: {{Kit(Path.Combine(kit.Get<string>("dit_folder"), "model.yaml"))}} }
            sampler:
              name: {{kit.Get<string>("sampling_method")}}
              options: { num_steps: {{kit.Get<int>("num_steps")}}, shift: {{kit.Get<double>("shift"):R}} }
            guidance: { method: cfg, scale: {{kit.Get<double>("cfg_scale"):R}}, interval: [{{interval[0]:R}}, {{interval[1]:R}}] }
            jobs:
              - sample: { noise: {{Rae.Yaml(kit.Path("case.safetensors"))}}, batch_size: 8, write_pngs: false }
            """);
        var runDirectory = Path.Combine(rae.Folder, "run");
        rae.Run("run", pipeline, "--run-dir", runDirectory);

        var samples = NpzFile.Read(Path.Combine(runDirectory, "samples", "samples.npz"));
        var expected = kit["gen/images_uint8"];
        samples["arr_0"].shape.Should().Equal(expected.shape);
        samples["arr_1"].SameValues(kit["labels"].to(torch.int64)).Should().BeTrue("labels come from the noise file");
        using var difference = samples["arr_0"].to(torch.int32) - expected.to(torch.int32);
        difference.abs().max().item<int>().Should().BeLessThanOrEqualTo(1, "uint8 images equal the kit's up to rounding at integer boundaries");
        (difference.ne(0).sum().item<long>() / (double)difference.numel()).Should().BeLessThan(0.01);
    }
}
