using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// The per-token normalization the blocks and the final layer use: RMSNorm (eps 1e-6, learned weight) when
/// <c>use_rmsnorm</c> is on (the released models), else LayerNorm without affine parameters (eps 1e-6).
/// </summary>
public static class TokenNorm
{
    public static nn.Module<Tensor, Tensor> Create(long dim, bool useRmsNorm) =>
        useRmsNorm ? new RMSNorm(dim) : nn.LayerNorm(dim, eps: 1e-6, elementwise_affine: false);

    /// <summary>Learned parameters of one such normalization.</summary>
    public static long ParameterCount(long dim, bool useRmsNorm) => useRmsNorm ? dim : 0;
}
