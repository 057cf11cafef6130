using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.Tests;

/// <summary>A denoiser around a synthetic field; its null label is <paramref name="nullLabel"/> (so K = nullLabel classes).</summary>
sealed class FieldDenoiser(VelocityField field, long nullLabel) : IDenoiser
{
    public LatentShape LatentShape => new(2, 3, 3);
    public int NumClasses => (int)nullLabel;
    public Tensor Forward(Tensor x, Tensor t, Tensor y) => field(x, t, y);
    public nn.Module Module => throw new NotSupportedException("no module");
    public void Dispose() { }
}
