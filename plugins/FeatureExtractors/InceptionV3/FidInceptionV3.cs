using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.FeatureExtractors.InceptionV3;

/// <summary>
/// The Inception-v3 of the FID (TensorFlow's 2015-12-05 graph as ported by pytorch-fid: torchvision's Inception3
/// with 1008 classes, no auxiliary classifier, and the FIDInceptionA/C/E_1/E_2 pool patches). Field names are the
/// keys of <c>pt_inception-2015-12-05-6726825d.pth</c>, so that file loads without conversion.
/// </summary>
sealed class FidInceptionV3 : nn.Module<Tensor, Tensor>
{
    public const int InputSize = 299;
    public const int FeatureDimension = 2048;
    public const int NumClasses = 1008;

    /// <summary>Channels of mixed_6/conv the ADM evaluator keeps for sFID (<c>spatial[..., :7]</c>).</summary>
    public const int SpatialChannels = 7;

    /// <summary>sFID feature width: 17 x 17 x 7 = 2023.</summary>
    public const int SpatialFeatureDimension = 17 * 17 * SpatialChannels;

#pragma warning disable IDE1006 // state-dict keys follow the reference attribute names
    readonly BasicConv2d Conv2d_1a_3x3, Conv2d_2a_3x3, Conv2d_2b_3x3, Conv2d_3b_1x1, Conv2d_4a_3x3;
    readonly FidInceptionA Mixed_5b, Mixed_5c, Mixed_5d;
    readonly InceptionB Mixed_6a;
    readonly FidInceptionC Mixed_6b, Mixed_6c, Mixed_6d, Mixed_6e;
    readonly InceptionD Mixed_7a;
    readonly FidInceptionE Mixed_7b, Mixed_7c;
    readonly Linear fc;
#pragma warning restore IDE1006

    public FidInceptionV3() : base(nameof(FidInceptionV3))
    {
        Conv2d_1a_3x3 = new BasicConv2d(3, 32, 3, stride: 2);
        Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
        Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, padding: 1);
        Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
        Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
        Mixed_5b = new FidInceptionA(192, poolFeatures: 32);
        Mixed_5c = new FidInceptionA(256, poolFeatures: 64);
        Mixed_5d = new FidInceptionA(288, poolFeatures: 64);
        Mixed_6a = new InceptionB(288);
        Mixed_6b = new FidInceptionC(768, channels7x7: 128);
        Mixed_6c = new FidInceptionC(768, channels7x7: 160);
        Mixed_6d = new FidInceptionC(768, channels7x7: 160);
        Mixed_6e = new FidInceptionC(768, channels7x7: 192);
        Mixed_7a = new InceptionD(768);
        Mixed_7b = new FidInceptionE(1280, FidInceptionE.PoolBranch.AverageWithoutPadding);
        Mixed_7c = new FidInceptionE(2048, FidInceptionE.PoolBranch.Max);
        fc = nn.Linear(FeatureDimension, NumClasses);
        RegisterComponents();
    }

    /// <summary>
    /// images: (B, 3, H, W) in [0, 1] -> pool3 features (B, 2048): bilinear resize to 299×299 (align_corners false,
    /// no antialias), scaled to [-1, 1], the convolutional tower, global average pool.
    /// </summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var (pooled, spatial) = ForwardWithSpatial(images);
        spatial.Dispose();
        return pooled.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// images: (B, 3, H, W) in [0, 1] -> pool3 (B, 2048) and the sFID features (B, 2023) of the same forward. The TF
    /// graph's <c>mixed_6/conv</c> (the ADM evaluator's <c>FID_SPATIAL_NAME = "mixed_6/conv:0"</c>) is the 1x1
    /// branch of the seventh mixed block, Mixed_6d.branch1x1 here (TF "mixed" = Mixed_5b, ..., "mixed_6" = Mixed_6d;
    /// the pytorch-fid / torch-fidelity conversion maps mixed_6/conv/{conv2d_params, batchnorm} to
    /// Mixed_6d.branch1x1.{conv, bn}), after batch norm and ReLU. ADM keeps channels [..., :7] of its NHWC tensor and
    /// flattens each image in (h, w, c) order, which is the order used here.
    /// </summary>
    public (Tensor Pooled, Tensor Spatial) ForwardWithSpatial(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = F.interpolate(images, size: [InputSize, InputSize], mode: InterpolationMode.Bilinear, align_corners: false);
        x = 2 * x - 1;
        x = Conv2d_2b_3x3.forward(Conv2d_2a_3x3.forward(Conv2d_1a_3x3.forward(x)));   // (B, 64, 147, 147)
        x = F.max_pool2d(x, 3, stride: 2);                                              // (B, 64, 73, 73)
        x = Conv2d_4a_3x3.forward(Conv2d_3b_1x1.forward(x));                            // (B, 192, 71, 71)
        x = F.max_pool2d(x, 3, stride: 2);                                              // (B, 192, 35, 35)
        x = Mixed_5d.forward(Mixed_5c.forward(Mixed_5b.forward(x)));                    // (B, 288, 35, 35)
        x = Mixed_6a.forward(x);                                                        // (B, 768, 17, 17)
        var (mixed6d, mixed6Conv) = Mixed_6d.ForwardWithFirstBranch(Mixed_6c.forward(Mixed_6b.forward(x)));
        x = Mixed_6e.forward(mixed6d);                                                  // (B, 768, 17, 17)
        x = Mixed_7c.forward(Mixed_7b.forward(Mixed_7a.forward(x)));                    // (B, 2048, 8, 8)
        var spatial = mixed6Conv[.., ..SpatialChannels].permute(0, 2, 3, 1).reshape(images.shape[0], -1); // (B, 2023)
        return (x.mean([2, 3]).MoveToOuterDisposeScope(), spatial.MoveToOuterDisposeScope()); // (B, 2048), (B, 2023)
    }

    /// <summary>
    /// pool3: (B, 2048) -> softmax over the 1008 classes of pool3·Wᵀ without the bias, as the ADM evaluator's
    /// softmax graph (<c>softmax/logits/MatMul</c>) computes the Inception Score's predictions.
    /// </summary>
    public Tensor ClassProbabilities(Tensor pool3)
    {
        using var scope = NewDisposeScope();
        return F.softmax(pool3.matmul(fc.weight.t()), 1).MoveToOuterDisposeScope();
    }
}
