using RaePipeline.Abstractions;
using TorchSharp;

namespace RaePipeline.Training.Tests;

/// <summary>An encoder that counts its calls and fails (as a killed process) or cancels the run at a chosen call.</summary>
sealed class CountingEncoder(IEncoder inner) : IEncoder
{
    public int Calls { get; set; }
    public int? FailAtCall { get; set; }
    public (int Call, CancellationTokenSource Source)? CancelAtCall { get; set; }
    public LatentShape LatentShape => inner.LatentShape;
    public int InputSize => inner.InputSize;
    public ImageNormalization ImageNormalization => inner.ImageNormalization;

    public torch.Tensor Encode(torch.Tensor images)
    {
        if (++Calls == FailAtCall) throw new InvalidOperationException("killed");
        if (CancelAtCall is { } cancel && Calls == cancel.Call) cancel.Source.Cancel();
        return inner.Encode(images);
    }

    public void Dispose() => inner.Dispose();
}
