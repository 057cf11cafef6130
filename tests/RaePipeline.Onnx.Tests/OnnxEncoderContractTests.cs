using RaePipeline.Abstractions;
using RaePipeline.Abstractions.Testing;
using RaePipeline.Encoders.Onnx;
using TorchSharp;

namespace RaePipeline.Onnx.Tests;

/// <summary>The onnx encoder on a small graph passes the plugin contract kit.</summary>
public sealed class OnnxEncoderContractTests : EncoderContractTests, IDisposable
{
    readonly string path = Path.Combine(Path.GetTempPath(), $"rae-onnx-contract-{Guid.NewGuid():N}.onnx");

    public OnnxEncoderContractTests() => File.WriteAllBytes(path, TinyPatchModel.Build("batch", 8));

    public void Dispose() => File.Delete(path);

    protected override IEncoder CreateEncoder(long seed)
    {
        var context = new ComponentContext { Device = torch.CPU, Seed = seed, BaseDirectory = ".", WeightsPath = path };
        return OnnxEncoder.Create(context, new OnnxEncoderOptions { DropTokens = 1 }, path, "onnx");
    }
}
