namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>Width, depth and head count of a stack of blocks, as in the official <c>hidden_size/depth/num_heads</c>.</summary>
public sealed record TransformerSize(int HiddenSize, int Depth, int NumHeads)
{
    public override string ToString() => $"({HiddenSize}, {Depth}, {NumHeads})";
}
