using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>The ViT initialization of the randomly built DINO feature network.</summary>
static class DinoInitialization
{
    /// <summary>A linear layer with weights N(0, 0.02) from <paramref name="generator"/> and zero bias (ViT init).</summary>
    public static Linear Linear(int inFeatures, int outFeatures, Generator? generator)
    {
        var linear = nn.Linear(inFeatures, outFeatures);
        using (no_grad())
        {
            linear.weight!.copy_(randn([outFeatures, inFeatures], generator: generator) * 0.02);
            linear.bias!.zero_();
        }
        return linear;
    }
}
