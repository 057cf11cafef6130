using RaePipeline.Backbones.DiffusionTransformers;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.Tests;

public sealed class CheckpointRoundTripTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("rae-backbones-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>A small DiT^DH with every parameter random (a fresh model has zero layers that would hide mistakes).</summary>
    static DiTwDDTHead RandomModel(long seed)
    {
        var spec = ParameterCountTests.SmallSpec(DiffusionTransformerKind.DiTDH, DiffusionTransformerFlags.Released);
        var module = new DiTwDDTHead(spec);
        using var generator = new Generator((ulong)seed, torch.CPU);
        using var noGrad = torch.no_grad();
        foreach (var parameter in module.parameters()) parameter.normal_(0, 0.2, generator);
        return module;
    }

    static void ShouldEqualBitwise(Dictionary<string, Tensor> read, nn.Module module)
    {
        var expected = module.state_dict();
        read.Keys.Should().BeEquivalentTo(expected.Keys);
        foreach (var (key, tensor) in expected)
            read[key].SameValues(tensor).Should().BeTrue($"'{key}' reads back bit for bit");
    }

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("model.pt")]
    public void Saved_state_dict_reads_back_bit_exact_and_loads_into_a_new_model(string file)
    {
        using var model = RandomModel(seed: 1);
        var path = Path.Combine(folder, file);
        if (file.EndsWith(".pt")) TorchCheckpointWriter.WritePyTorch(model, path);
        else TorchCheckpointWriter.WriteSafeTensors(model, path);

        var read = WeightFiles.ReadStateDict(path);
        ShouldEqualBitwise(read, model);

        using var denoiser = DiffusionTransformerDenoiser.Create(model.Spec, path, WeightFiles.CheckpointEntry.Ema, 0, torch.CPU);
        using var x = torch.randn(2, 12, 4, 4);
        using var t = torch.tensor(new float[] { 0.25f, 0.75f });
        using var y = torch.tensor(new long[] { 1, 5 });
        using var noGrad = torch.no_grad();
        using var expected = model.forward(x, t, y);
        using var actual = denoiser.Forward(x, t, y);
        actual.SameValues(expected).Should().BeTrue("the reloaded model computes the same velocity");
    }

    [Fact]
    public void Training_checkpoint_gives_ema_by_default_and_model_on_request()
    {
        using var model = RandomModel(seed: 1);
        using var ema = RandomModel(seed: 2);
        var path = Path.Combine(folder, "checkpoint.pt");
        TorchCheckpointWriter.WriteTrainingCheckpoint(path, model, ema, step: 123, epoch: 1);

        ShouldEqualBitwise(WeightFiles.ReadStateDict(path), ema);
        ShouldEqualBitwise(WeightFiles.ReadStateDict(path, WeightFiles.CheckpointEntry.Model), model);
        var top = TorchPickleFile.ReadDictionary(path);
        Convert.ToInt64(top["step"]).Should().Be(123);
        Convert.ToInt64(top["epoch"]).Should().Be(1);
    }

    [ParityFact("ditdh")]
    public void State_dict_missing_a_key_is_refused_naming_the_key_and_file()
    {
        var kit = ParityKit.CaseFolder("ditdh");
        var tensors = WeightFiles.ReadStateDict(Path.Combine(kit, "model.safetensors"));
        var dropped = tensors.Keys.Where(k => k.StartsWith("blocks.", StringComparison.Ordinal) && k.EndsWith(".weight", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).Last(); // a block weight of whatever depth the kit's model has
        tensors.Remove(dropped).Should().BeTrue();
        var path = Path.Combine(folder, "incomplete.safetensors");
        SafeTensorsFile.Write(path, tensors);

        var act = () => Registrations.DiTDH.Create(Registrations.Context(path, baseDirectory: kit),
            new DiTDHOptions { Config = "model.yaml" });
        act.Should().Throw<WeightsFormatException>()
            .Where(e => e.Message.Contains(dropped) && e.Message.Contains("missing") && e.Message.Contains(path));
    }

    [ParityFact("ditdh")]
    public void Weights_of_another_size_are_refused_naming_the_mis_shaped_tensor()
    {
        using var c = ParityKit.Open("ditdh");
        var kit = c.Folder;
        int otherClassCount = c.Get<int>("params/num_classes") + 1; // another size for every kit
        var act = () => Registrations.DiTDH.Create(Registrations.Context(Path.Combine(kit, "model.safetensors"), baseDirectory: kit),
            new DiTDHOptions { Config = "model.yaml", NumClasses = otherClassCount });
        act.Should().Throw<WeightsFormatException>()
            .Where(e => e.Message.Contains("y_embedder.embedding_table.weight") && e.Message.Contains("mis-shaped"));
    }
}
