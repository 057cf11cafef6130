using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// "Local" batch normalization with a virtual batch of one sample: each sample's channels are standardized over
/// the tokens (biased variance, eps 1e-6), then an affine per channel. Keys <c>weight</c>, <c>bias</c>.
/// </summary>
public sealed class BatchNormLocal : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter bias;
    readonly double eps;

    public BatchNormLocal(long channels, double eps = 1e-6) : base(nameof(BatchNormLocal))
    {
        weight = new Parameter(ones(channels));
        bias = new Parameter(zeros(channels));
        this.eps = eps;
        RegisterComponents();
    }

    /// <summary>x: (B, C, L) -> (B, C, L) float32.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x.to(float32);
        var mean = h.mean([2], keepdim: true);
        var variance = h.var(2, unbiased: false, keepdim: true);
        var normalized = (h - mean) / (variance + eps).sqrt();
        return (normalized * weight.view(1, -1, 1) + bias.view(1, -1, 1)).MoveToOuterDisposeScope();
    }
}
