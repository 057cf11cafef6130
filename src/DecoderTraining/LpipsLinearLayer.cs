using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// One LPIPS "linear" head: dropout then a 1x1 convolution without bias to one channel, as <c>NetLinLayer</c> of the
/// LPIPS v0.1 weights, so its key is <c>model.1.weight</c> (index 0 is the dropout).
/// </summary>
public sealed class LpipsLinearLayer : nn.Module<Tensor, Tensor>
{
    readonly Sequential model;

    public LpipsLinearLayer(long channels) : base(nameof(LpipsLinearLayer))
    {
        model = nn.Sequential(("0", nn.Dropout()), ("1", nn.Conv2d(channels, 1, 1, bias: false)));
        RegisterComponents();
    }

    /// <summary>x: (B, C, H, W) -> (B, 1, H, W).</summary>
    public override Tensor forward(Tensor x) => model.call(x);
}
