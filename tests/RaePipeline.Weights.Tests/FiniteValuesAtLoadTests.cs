using RaePipeline.Abstractions;
using RaePipeline.Latents;
using RaePipeline.Weights.Tests.Files;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Weights.Tests;

/// <summary>NaN and infinity are refused where numbers enter: weights loaded into a module and latent statistics.</summary>
public class FiniteValuesAtLoadTests : TestFolder
{
    [Theory]
    [InlineData(".safetensors")]
    [InlineData(".pt")]
    public void Weights_holding_nan_are_refused_at_load_naming_the_file_and_the_tensor(string extension)
    {
        using var module = nn.Linear(3, 2);
        using var weight = module.weight!.detach().clone();
        weight[1, 2] = float.NaN;
        weight[0, 0] = float.PositiveInfinity;
        var path = PathOf("linear" + extension);
        WriteStateDict(path, new() { ["weight"] = weight, ["bias"] = module.bias!.detach() });
        var stateDict = WeightFiles.ReadStateDict(path);
        var act = () => StateDictLoader.Load(module, stateDict, path);
        act.Should().Throw<WeightsFormatException>()
            .Where(e => e.Message.Contains(path) && e.Message.Contains("weight (1 NaN, 1 infinite of 6 values)") && !e.Message.Contains("bias"));
        module.weight!.isfinite().all().item<bool>().Should().BeTrue("nothing is copied from a refused file");
    }

    [Theory]
    [InlineData(".safetensors")]
    [InlineData(".pt")]
    public void A_nan_variance_in_latent_statistics_is_refused_naming_the_file_and_var(string extension)
    {
        var variance = ones(4, 2, 2);
        variance[2, 1, 0] = float.NaN;
        var path = Save(new LatentStatistics(null, variance), "stat" + extension);
        ShouldRefuse(path, "'var'", "1 NaN");
    }

    [Fact]
    public void An_infinite_mean_in_latent_statistics_is_refused_naming_the_file_and_mean()
    {
        var mean = zeros(4, 2, 2);
        mean[0, 0, 0] = float.NegativeInfinity;
        ShouldRefuse(Save(new LatentStatistics(mean, ones(4, 2, 2)), "stat.pt"), "'mean'", "1 infinite");
    }

    [Fact]
    public void A_negative_variance_is_refused_naming_the_file()
    {
        var variance = ones(4, 2, 2);
        variance[1, 1, 1] = -0.5f;
        variance[3, 0, 1] = -2f;
        ShouldRefuse(Save(new LatentStatistics(null, variance), "stat.safetensors"), "'var' has 2 negative values");
    }

    [Fact]
    public void The_shape_of_a_statistics_file_is_read_cheaply_and_errors_name_the_file()
    {
        var good = Save(new LatentStatistics(null, rand(8, 3, 5, generator: new Generator(1))), "stat.pt");
        LatentStatistics.ReadShape(good).Should().Be(new LatentShape(8, 3, 5));

        var flat = PathOf("flat.pt");
        var pickle = new PickleBuilder().Dict(("mean", p => p.None()), ("var", p => p.Tensor("0", 4, 4))).Build();
        PickleBuilder.WriteArchive(flat, pickle, ("0", Enumerable.Repeat(1f, 16).ToArray()));
        var act = () => LatentStatistics.ReadShape(flat);
        act.Should().Throw<WeightsFormatException>().Where(e => e.Message.Contains(flat) && e.Message.Contains("[4, 4], expected (C, h, w)"));

        var missing = PathOf("missing.pt");
        var absent = () => LatentStatistics.ReadShape(missing);
        absent.Should().Throw<WeightsFormatException>().Where(e => e.Message.Contains(missing) && e.Message.Contains("not found"));
    }

    string Save(LatentStatistics statistics, string name)
    {
        using (statistics) statistics.Save(PathOf(name));
        return PathOf(name);
    }

    static void WriteStateDict(string path, Dictionary<string, Tensor> tensors)
    {
        if (path.EndsWith(".safetensors")) SafeTensorsFile.Write(path, tensors);
        else
        {
            var dictionary = new System.Collections.Hashtable();
            foreach (var (k, v) in tensors) dictionary[k] = v.contiguous();
            AtomicFile.Write(path, stream => TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(stream, dictionary, leaveOpen: true));
        }
    }

    static void ShouldRefuse(string path, params string[] fragments)
    {
        var act = () => LatentStatistics.Load(path);
        var message = act.Should().Throw<WeightsFormatException>().Which.Message;
        message.Should().Contain(path);
        foreach (var fragment in fragments) message.Should().Contain(fragment);
    }
}
