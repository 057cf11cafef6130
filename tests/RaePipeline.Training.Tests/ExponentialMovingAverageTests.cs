using RaePipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training.Tests;

public class ExponentialMovingAverageTests
{
    [Fact]
    public void Update_follows_the_formula_and_keys_equal_the_models()
    {
        torch.manual_seed(0);
        using var model = torch.nn.Sequential(("0", torch.nn.Linear(4, 3)), ("1", torch.nn.BatchNorm1d(3)));
        using var ema = new ExponentialMovingAverage(model, decay: 0.9);
        ema.StateDict().Keys.Should().BeEquivalentTo(model.state_dict().Keys);
        var initial = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

        using (torch.no_grad())
            foreach (var p in model.parameters()) p.add_(1.5);
        model.forward(torch.randn(8, 4)); // changes the BatchNorm running statistics (buffers)
        ema.Update(model);

        foreach (var (name, value) in model.named_parameters())
        {
            var expected = initial[name] * 0.9 + value * 0.1;
            TensorAssert.Close(ema.StateDict()[name], expected, 1e-6, 1e-6, name);
        }
        TensorAssert.Close(ema.StateDict()["1.running_mean"], model.state_dict()["1.running_mean"], 0, 0, "buffers are copied");

        using var copy = torch.nn.Sequential(("0", torch.nn.Linear(4, 3)), ("1", torch.nn.BatchNorm1d(3)));
        ema.CopyTo(copy);
        foreach (var (name, value) in copy.state_dict()) value.SameValues(ema.StateDict()[name]).Should().BeTrue(name);
    }
}
