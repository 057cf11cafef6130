using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>(fn(x) + x) / sqrt(2), the residual block of the discriminator heads; the wrapped module's keys are <c>fn.*</c>.</summary>
public sealed class ScaledResidual : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> fn;

    public ScaledResidual(nn.Module<Tensor, Tensor> inner) : base(nameof(ScaledResidual))
    {
        fn = inner;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return ((fn.call(x) + x) * (1.0 / Math.Sqrt(2.0))).MoveToOuterDisposeScope();
    }
}
