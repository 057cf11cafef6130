using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>
/// Seeded initialization of a freshly built ViT (HF ViT/ViT-MAE <c>_init_weights</c> style): Linear and Conv2d
/// weights ~ truncated N(0, std²) within ±2·std, biases 0, LayerNorm weight 1 and bias 0. Other parameters (tokens,
/// position tables, LayerScale) keep what their constructors set unless the caller fills them.
/// </summary>
public static class RandomInitialization
{
    public const double DefaultStd = 0.02;

    public static void Apply(nn.Module module, Generator generator, double std = DefaultStd)
    {
        using var noGrad = torch.no_grad();
        foreach (var (_, child) in module.named_modules())
        {
            switch (child)
            {
                case Linear linear:
                    Weight(linear.weight!, linear.bias, generator, std);
                    break;
                case Conv2d conv:
                    Weight(conv.weight!, conv.bias, generator, std);
                    break;
                case LayerNorm norm:
                    if (norm.weight is not null) nn.init.ones_(norm.weight);
                    if (norm.bias is not null) nn.init.zeros_(norm.bias);
                    break;
            }
        }
    }

    /// <summary>Fills a token or table parameter with truncated N(0, std²).</summary>
    public static void Normal(Tensor parameter, Generator generator, double std = DefaultStd)
    {
        using var noGrad = torch.no_grad();
        nn.init.trunc_normal_(parameter, 0, std, -2 * std, 2 * std, generator);
    }

    static void Weight(Tensor weight, Tensor? bias, Generator generator, double std)
    {
        nn.init.trunc_normal_(weight, 0, std, -2 * std, 2 * std, generator);
        if (bias is not null) nn.init.zeros_(bias);
    }
}
