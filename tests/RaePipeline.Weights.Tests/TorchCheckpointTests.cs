using RaePipeline.Weights;

namespace RaePipeline.Weights.Tests;

public class TorchCheckpointTests
{
    [ParityFact("ditdh")]
    public void Training_checkpoint_gives_ema_by_default_and_model_on_request()
    {
        var path = Path.Combine(ParityKit.CaseFolder("ditdh"), "checkpoint.pt");
        var ema = WeightFiles.ReadStateDict(path);
        var model = WeightFiles.ReadStateDict(path, WeightFiles.CheckpointEntry.Model);
        var reference = WeightFiles.ReadStateDict(Path.Combine(ParityKit.CaseFolder("ditdh"), "model.safetensors"));
        ema.Keys.Should().BeEquivalentTo(reference.Keys);
        foreach (var (key, tensor) in reference)
            ema[key].SameValues(tensor).Should().BeTrue($"ema '{key}' equals model.safetensors");
        model.Keys.Any(k => !model[k].SameValues(reference[k])).Should().BeTrue("the 'model' entry holds other weights");
    }

    [ParityFact("decoder")]
    public void Raw_pt_state_dict_equals_its_safetensors_twin()
    {
        var folder = ParityKit.CaseFolder("decoder");
        var pt = WeightFiles.ReadStateDict(Path.Combine(folder, "model.pt"));
        var st = WeightFiles.ReadStateDict(Path.Combine(folder, "model.safetensors"));
        pt.Keys.Should().BeEquivalentTo(st.Keys);
        foreach (var (key, tensor) in st)
            pt[key].SameValues(tensor).Should().BeTrue(key);
    }
}
