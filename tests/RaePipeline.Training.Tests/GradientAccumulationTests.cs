using RaePipeline.FlowMatching;
using RaePipeline.Backbones.DiffusionTransformers;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training.Tests;

public class GradientAccumulationTests
{
    [Fact]
    public void K_micro_batches_give_the_gradient_of_one_batch_k_times_as_large()
    {
        const int k = 4, micro = 3;
        using var denoiser = DiffusionTransformerDenoiser.Create(TinyPipeline.DenoiserSpec, null, WeightFiles.CheckpointEntry.Ema, 1, torch.CPU);
        var module = denoiser.Module;
        module.train();
        using var scope = NewDisposeScope();
        using var generator = new Generator(9, torch.CPU);
        var shape = denoiser.LatentShape.WithBatch(k * micro);
        var z = torch.randn(shape, generator: generator);
        var eps = torch.randn(shape, generator: generator);
        var t = torch.rand([k * micro], generator: generator);
        var y = torch.randint(0, TinyPipeline.Classes + 1, [k * micro], dtype: int64, generator: generator);
        Tensor Slice(Tensor x, int i) => x[TensorIndex.Slice(i * micro, (i + 1) * micro)];

        double whole = GradientAccumulation.Backward(module, 1, _ => FlowMatchingLoss.Evaluate(denoiser.Forward, z, eps, t, y).Mean());
        var trainable = TrainingState.TrainableParameters(module);
        var expected = trainable.ToDictionary(p => p.Name, p => p.Parameter.grad!.clone());

        double accumulated = GradientAccumulation.Backward(module, k, i =>
            FlowMatchingLoss.Evaluate(denoiser.Forward, Slice(z, i), Slice(eps, i), Slice(t, i), Slice(y, i)).Mean());
        accumulated.Should().BeApproximately(whole, 1e-6);
        foreach (var (name, parameter) in trainable)
            TensorAssert.Close(parameter.grad!, expected[name], 1e-6, 1e-4, name);

        // The official loop (zero_grad before each micro-batch, undivided loss) keeps only the last micro-batch's
        // gradient, which is visibly different: this test would catch it.
        GradientAccumulation.Backward(module, 1, _ =>
            FlowMatchingLoss.Evaluate(denoiser.Forward, Slice(z, k - 1), Slice(eps, k - 1), Slice(t, k - 1), Slice(y, k - 1)).Mean());
        double gap = trainable.Max(p => (p.Parameter.grad! - expected[p.Name]).abs().max().item<float>());
        gap.Should().BeGreaterThan(1e-3);
    }
}
