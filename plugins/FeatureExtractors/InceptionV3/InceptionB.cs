using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.FeatureExtractors.InceptionV3;

/// <summary>Mixed_6a: grid reduction 35 -> 17. x: (B, 288, 35, 35) -> (B, 768, 17, 17).</summary>
sealed class InceptionB : nn.Module<Tensor, Tensor>
{
    readonly BasicConv2d branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3;

    public InceptionB(long inChannels) : base(nameof(InceptionB))
    {
        branch3x3 = new BasicConv2d(inChannels, 384, 3, stride: 2);
        branch3x3dbl_1 = new BasicConv2d(inChannels, 64, 1);
        branch3x3dbl_2 = new BasicConv2d(64, 96, 3, padding: 1);
        branch3x3dbl_3 = new BasicConv2d(96, 96, 3, stride: 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b3 = branch3x3.forward(x);
        var bd = branch3x3dbl_3.forward(branch3x3dbl_2.forward(branch3x3dbl_1.forward(x)));
        var pool = F.max_pool2d(x, 3, stride: 2);
        return cat([b3, bd, pool], 1).MoveToOuterDisposeScope();
    }
}
