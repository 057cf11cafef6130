using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training;

/// <summary>
/// Gradients of one optimizer step from k micro-batches, done so they equal the gradient of one batch k times as
/// large: the gradients are zeroed once, each micro-batch's mean loss is divided by k before its backward pass,
/// and the backward passes add up. (The official <c>train.py</c> zeroes the gradients before every micro-batch,
/// so only the last micro-batch counts: issue #67.)
/// </summary>
public static class GradientAccumulation
{
    /// <summary>
    /// Zeroes the gradients of <paramref name="module"/>, then for i = 0..k-1 back-propagates
    /// <c>lossOf(i) / k</c> (<paramref name="lossOf"/> returns a scalar mean loss over micro-batch i). Returns the
    /// mean of the k losses, the loss of the whole batch (not checked here: a NaN shows in it, and the caller checks
    /// it before the optimizer step, naming the step).
    /// </summary>
    public static double Backward(nn.Module module, int microBatches, Func<int, Tensor> lossOf)
    {
        if (microBatches < 1) throw new ArgumentOutOfRangeException(nameof(microBatches), $"need at least one micro-batch, got {microBatches}");
        module.zero_grad();
        double total = 0;
        for (int i = 0; i < microBatches; i++)
        {
            using var scope = NewDisposeScope();
            var loss = lossOf(i);
            if (loss.numel() != 1) throw new InvalidOperationException($"micro-batch {i}: the loss must be a scalar, got [{string.Join(", ", loss.shape)}]");
            (loss / microBatches).backward();
            total += loss.ToDouble();
        }
        return total / microBatches;
    }
}
