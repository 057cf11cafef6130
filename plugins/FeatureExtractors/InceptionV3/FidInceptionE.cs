using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.FeatureExtractors.InceptionV3;

/// <summary>
/// Mixed_7b/7c: torchvision's InceptionE (expanded 3×3 branches) with the FID patches: Mixed_7b's pool branch
/// averages without the padding, Mixed_7c's takes a 3×3 max pool instead (as the TensorFlow FID graph does).
/// x: (B, in, 8, 8) -> (B, 2048, 8, 8).
/// </summary>
sealed class FidInceptionE : nn.Module<Tensor, Tensor>
{
    /// <summary>How the pool branch pools before its 1×1 convolution.</summary>
    public enum PoolBranch { AverageWithoutPadding, Max }

    readonly PoolBranch poolBranch;
    readonly BasicConv2d branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b,
        branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3a, branch3x3dbl_3b, branch_pool;

    public FidInceptionE(long inChannels, PoolBranch poolBranch) : base(nameof(FidInceptionE))
    {
        this.poolBranch = poolBranch;
        branch1x1 = new BasicConv2d(inChannels, 320, 1);
        branch3x3_1 = new BasicConv2d(inChannels, 384, 1);
        branch3x3_2a = new BasicConv2d(384, 384, (1, 3), padding: (0, 1));
        branch3x3_2b = new BasicConv2d(384, 384, (3, 1), padding: (1, 0));
        branch3x3dbl_1 = new BasicConv2d(inChannels, 448, 1);
        branch3x3dbl_2 = new BasicConv2d(448, 384, 3, padding: 1);
        branch3x3dbl_3a = new BasicConv2d(384, 384, (1, 3), padding: (0, 1));
        branch3x3dbl_3b = new BasicConv2d(384, 384, (3, 1), padding: (1, 0));
        branch_pool = new BasicConv2d(inChannels, 192, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b1 = branch1x1.forward(x);
        var b3 = branch3x3_1.forward(x);
        b3 = cat([branch3x3_2a.forward(b3), branch3x3_2b.forward(b3)], 1);
        var bd = branch3x3dbl_2.forward(branch3x3dbl_1.forward(x));
        bd = cat([branch3x3dbl_3a.forward(bd), branch3x3dbl_3b.forward(bd)], 1);
        var pooled = poolBranch == PoolBranch.Max
            ? F.max_pool2d(x, 3, stride: 1, padding: 1)
            : F.avg_pool2d(x, 3, stride: 1, padding: 1, count_include_pad: false);
        var pool = branch_pool.forward(pooled);
        return cat([b1, b3, bd, pool], 1).MoveToOuterDisposeScope();
    }
}
