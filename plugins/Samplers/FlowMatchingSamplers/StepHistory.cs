using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// What a multistep solver carries from one step to the next within one sampling run: the previous step's data
/// prediction x0 (B, C, h, w). It lives outside the per-step dispose scopes and is disposed when the run ends.
/// </summary>
public sealed class StepHistory : IDisposable
{
    Tensor? previousPrediction;

    /// <summary>The data prediction of the step before, or null on the first step. Setting it keeps the new tensor and disposes the old one.</summary>
    public Tensor? PreviousPrediction
    {
        get => previousPrediction;
        set
        {
            previousPrediction?.Dispose();
            previousPrediction = value?.DetachFromDisposeScope();
        }
    }

    public void Dispose() => previousPrediction?.Dispose();
}
