using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.FeatureExtractors.InceptionV3;

/// <summary>
/// Mixed_5b/5c/5d: torchvision's InceptionA with the FID patch (the pool branch's 3×3 average excludes padding, as
/// TensorFlow's). x: (B, in, 35, 35) -> (B, 224 + pool_features, 35, 35).
/// </summary>
sealed class FidInceptionA : nn.Module<Tensor, Tensor>
{
    readonly BasicConv2d branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3, branch_pool;

    public FidInceptionA(long inChannels, long poolFeatures) : base(nameof(FidInceptionA))
    {
        branch1x1 = new BasicConv2d(inChannels, 64, 1);
        branch5x5_1 = new BasicConv2d(inChannels, 48, 1);
        branch5x5_2 = new BasicConv2d(48, 64, 5, padding: 2);
        branch3x3dbl_1 = new BasicConv2d(inChannels, 64, 1);
        branch3x3dbl_2 = new BasicConv2d(64, 96, 3, padding: 1);
        branch3x3dbl_3 = new BasicConv2d(96, 96, 3, padding: 1);
        branch_pool = new BasicConv2d(inChannels, poolFeatures, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b1 = branch1x1.forward(x);
        var b5 = branch5x5_2.forward(branch5x5_1.forward(x));
        var b3 = branch3x3dbl_3.forward(branch3x3dbl_2.forward(branch3x3dbl_1.forward(x)));
        var pool = branch_pool.forward(F.avg_pool2d(x, 3, stride: 1, padding: 1, count_include_pad: false));
        return cat([b1, b5, b3, pool], 1).MoveToOuterDisposeScope();
    }
}
