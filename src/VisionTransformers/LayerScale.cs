using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>Per-channel scale of a residual branch (HF <c>Dinov2LayerScale</c>, key <c>lambda1</c>).</summary>
public sealed class LayerScale : nn.Module<Tensor, Tensor>
{
    readonly Parameter lambda1;

    public LayerScale(long width, double initialValue) : base(nameof(LayerScale))
    {
        lambda1 = new Parameter(torch.full(width, initialValue));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x * lambda1;
}
