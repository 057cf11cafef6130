namespace RaePipeline.Onnx.Tests;

/// <summary>
/// A small ViT-like graph the tests write: images (B, 3, H, W) -> Conv 2x2 stride 2 (4 channels) "conv" -> Relu
/// "relu" (B, 4, H/2, W/2) -> tokens (B, 1 + H·W/4, 4) "tokens", whose first token is a CLS-like global average of
/// "relu" and whose others are "relu"'s positions row by row. Only "tokens" is a declared output.
/// </summary>
public static class TinyPatchModel
{
    public const int Channels = 4;
    public const string Input = "images", Conv = "conv", Relu = "relu", ReluNode = "relu_node", Tokens = "tokens";

    /// <param name="batch">A number or a symbolic name for the batch dimension.</param>
    /// <param name="size">The image side, or null for symbolic height and width.</param>
    /// <param name="declareShapes">Whether value_info declares the inner values' shapes.</param>
    /// <param name="extraOutputs">Inner values to declare as outputs as well (for reference sessions).</param>
    public static byte[] Build(object batch, int? size, bool declareShapes = true, params string[] extraOutputs) =>
        Build(batch, size, declareShapes, null, extraOutputs);

    /// <summary>The graph with its convolution weight in a separate file (ONNX external data) written to <paramref name="folder"/>.</summary>
    public static byte[] BuildWithExternalWeights(string folder, string file) => Build("batch", 8, true, (folder, file));

    static byte[] Build(object batch, int? size, bool declareShapes, (string Folder, string File)? external, params string[] extraOutputs)
    {
        var random = new Random(5);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        object height = size.HasValue ? size.Value : "height", width = size.HasValue ? size.Value : "width";
        object grid = size.HasValue ? size.Value / 2 : "grid", tokens = size.HasValue ? 1 + size.Value * size.Value / 4 : "tokens";
        var builder = new OnnxModelBuilder().Input(Input, batch, 3, height, width);
        builder = external is var (folder, file)
            ? builder.ExternalInitializer("conv.weight", [Channels, 3, 2, 2], Values(Channels * 12), folder, file)
            : builder.Initializer("conv.weight", [Channels, 3, 2, 2], Values(Channels * 12));
        builder
            .Initializer("conv.bias", [Channels], Values(Channels))
            .Initializer("flat_shape", [3], [0L, Channels, -1L])
            .Initializer("cls_shape", [3], [0L, Channels, 1L])
            .Node("Conv", "conv_node", [Input, "conv.weight", "conv.bias"], [Conv],
                ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }))
            .Node("Relu", ReluNode, [Conv], [Relu])
            .Node("Reshape", "flatten", [Relu, "flat_shape"], ["flat"])
            .Node("GlobalAveragePool", "pool", [Relu], ["pooled"])
            .Node("Reshape", "cls_reshape", ["pooled", "cls_shape"], ["cls"])
            .Node("Concat", "prepend_cls", ["cls", "flat"], ["channels_first"], ("axis", 2L))
            .Node("Transpose", "to_tokens", ["channels_first"], [Tokens], ("perm", new long[] { 0, 2, 1 }))
            .Output(Tokens, batch, tokens, Channels);
        foreach (var extra in extraOutputs) builder.Output(extra, batch, Channels, grid, grid);
        if (declareShapes)
        {
            builder.ValueInfo(Conv, batch, Channels, grid, grid);
            builder.ValueInfo(Relu, batch, Channels, grid, grid);
        }
        return builder.Build();
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="folder"/> and returns the path.</summary>
    public static string Write(string folder, string name, byte[] model)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, model);
        return path;
    }
}
