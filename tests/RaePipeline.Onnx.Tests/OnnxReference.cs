using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Onnx.Tests;

/// <summary>ONNX Runtime used directly, as the reference the plugin is checked against.</summary>
public static class OnnxReference
{
    /// <summary>Runs <paramref name="model"/> on <paramref name="input"/> (CPU float32) and fetches <paramref name="output"/>.</summary>
    public static Tensor Run(byte[] model, string inputName, Tensor input, string output)
    {
        using var session = new InferenceSession(model);
        return Run(session, inputName, input, output);
    }

    public static Tensor Run(InferenceSession session, string inputName, Tensor input, string output)
    {
        var data = input.to(float32).cpu().contiguous().data<float>().ToArray();
        using var value = OrtValue.CreateTensorValueFromMemory(data, input.shape);
        using var results = session.Run(new RunOptions(), [inputName], [value], [output]);
        var result = results[0];
        return torch.tensor(result.GetTensorDataAsSpan<float>().ToArray(), result.GetTensorTypeAndShape().Shape);
    }
}
