using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>Patch embedding: a conv with kernel = stride = patch, key <c>proj.*</c>.</summary>
public sealed class DinoPatchEmbedding : nn.Module<Tensor, Tensor>
{
    readonly Conv2d proj;

    public DinoPatchEmbedding(int embedDim, int patchSize, Generator? generator) : base(nameof(DinoPatchEmbedding))
    {
        proj = nn.Conv2d(3, embedDim, patchSize, stride: patchSize);
        using (no_grad())
        {
            proj.weight!.copy_(randn(proj.weight.shape, generator: generator) * 0.02);
            proj.bias!.zero_();
        }
        RegisterComponents();
    }

    /// <summary>x: (B, 3, S, S) -> (B, (S/p)^2, D).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return proj.call(x).flatten(2).transpose(1, 2).MoveToOuterDisposeScope();
    }
}
