using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.FeatureExtractors.InceptionV3;

/// <summary>
/// Mixed_6b..6e: torchvision's InceptionC (factorized 7×7) with the FID patch (average pool excludes padding).
/// x: (B, 768, 17, 17) -> (B, 768, 17, 17).
/// </summary>
sealed class FidInceptionC : nn.Module<Tensor, Tensor>
{
    readonly BasicConv2d branch1x1, branch7x7_1, branch7x7_2, branch7x7_3,
        branch7x7dbl_1, branch7x7dbl_2, branch7x7dbl_3, branch7x7dbl_4, branch7x7dbl_5, branch_pool;

    public FidInceptionC(long inChannels, long channels7x7) : base(nameof(FidInceptionC))
    {
        long c7 = channels7x7;
        branch1x1 = new BasicConv2d(inChannels, 192, 1);
        branch7x7_1 = new BasicConv2d(inChannels, c7, 1);
        branch7x7_2 = new BasicConv2d(c7, c7, (1, 7), padding: (0, 3));
        branch7x7_3 = new BasicConv2d(c7, 192, (7, 1), padding: (3, 0));
        branch7x7dbl_1 = new BasicConv2d(inChannels, c7, 1);
        branch7x7dbl_2 = new BasicConv2d(c7, c7, (7, 1), padding: (3, 0));
        branch7x7dbl_3 = new BasicConv2d(c7, c7, (1, 7), padding: (0, 3));
        branch7x7dbl_4 = new BasicConv2d(c7, c7, (7, 1), padding: (3, 0));
        branch7x7dbl_5 = new BasicConv2d(c7, 192, (1, 7), padding: (0, 3));
        branch_pool = new BasicConv2d(inChannels, 192, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => ForwardWithFirstBranch(x).Output;

    /// <summary>
    /// The block's output and its 1x1 branch after batch norm and ReLU, (B, 192, 17, 17): in the TensorFlow graph this
    /// branch is <c>mixed_N/conv</c> (the node named by the scope is its ReLU; <c>mixed_N/conv/Conv2D</c> and
    /// <c>mixed_N/conv/batchnorm</c> are inside it).
    /// </summary>
    public (Tensor Output, Tensor FirstBranch) ForwardWithFirstBranch(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b1 = branch1x1.forward(x);
        var b7 = branch7x7_3.forward(branch7x7_2.forward(branch7x7_1.forward(x)));
        var bd = branch7x7dbl_1.forward(x);
        bd = branch7x7dbl_5.forward(branch7x7dbl_4.forward(branch7x7dbl_3.forward(branch7x7dbl_2.forward(bd))));
        var pool = branch_pool.forward(F.avg_pool2d(x, 3, stride: 1, padding: 1, count_include_pad: false));
        return (cat([b1, b7, bd, pool], 1).MoveToOuterDisposeScope(), b1.MoveToOuterDisposeScope());
    }
}
