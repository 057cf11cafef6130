using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Benchmarks;

/// <summary>
/// Non-degenerate random weights like the parity kit's (and ref_bench.py's <c>random_init_</c>): matrices
/// N(0, s²) with s = clamp(0.6/√fan_in, 0.02, 0.2), label table N(0, 0.15²), norm weights 1 + N(0, 0.1²), other
/// vectors N(0, 0.05²); the fixed pos_embed and t_embedder.W are kept. A fresh model's zero adaLN layers would make
/// the timed work unlike a trained model's.
/// </summary>
static class KitStyleWeights
{
    public static void Apply(nn.Module module, long seed)
    {
        using var generator = new Generator((ulong)seed, torch.CPU);
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (name.EndsWith("pos_embed") || name.EndsWith("t_embedder.W")) continue;
            if (name.Contains("embedding_table")) parameter.normal_(0, 0.15, generator);
            else if (parameter.dim() >= 2)
            {
                double fanIn = parameter.numel() / parameter.shape[0];
                parameter.normal_(0, Math.Clamp(0.6 / Math.Sqrt(fanIn), 0.02, 0.2), generator);
            }
            else if (name.Contains("norm")) parameter.normal_(1, 0.1, generator);
            else parameter.normal_(0, 0.05, generator);
        }
    }
}
