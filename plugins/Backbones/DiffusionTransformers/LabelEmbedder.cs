using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// Class embedding table <c>embedding_table</c> with K + 1 rows; row K is the null (unconditional) label. It never
/// drops labels itself: the training job replaces labels by K for class dropout, so the forward is deterministic.
/// </summary>
public sealed class LabelEmbedder : nn.Module<Tensor, Tensor>
{
    public readonly Embedding embedding_table;

    public LabelEmbedder(long numClasses, long dim) : base(nameof(LabelEmbedder))
    {
        embedding_table = nn.Embedding(numClasses + 1, dim);
        RegisterComponents();
    }

    public static long ParameterCount(long numClasses, long dim) => (numClasses + 1) * dim;

    // y: (B,) int64 in [0, K] -> (B, D)
    public override Tensor forward(Tensor y) => embedding_table.forward(y);
}
