using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>
/// Seeded initialization of a freshly built ViT (HF ViT-MAE <c>_init_weights</c>): Linear and Conv2d weights
/// ~ N(0, std²), biases 0, LayerNorm weight 1 and bias 0. Other parameters (tokens, position tables, LayerScale) keep
/// what their constructors set unless the caller fills them. Draws use <c>Tensor.normal_(mean, std, generator)</c>:
/// in TorchSharp 0.107 <c>nn.init.normal_</c> ignores its generator and <c>nn.init.trunc_normal_</c> fills a constant.
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

    /// <summary>Fills a token or table parameter with N(0, std²).</summary>
    public static void Normal(Tensor parameter, Generator generator, double std = DefaultStd)
    {
        using var noGrad = torch.no_grad();
        parameter.normal_(0, std, generator);
    }

    static void Weight(Tensor weight, Tensor? bias, Generator generator, double std)
    {
        weight.normal_(0, std, generator);
        if (bias is not null) nn.init.zeros_(bias);
    }
}
