using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using RaePipeline.VisionTransformers;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Encoders.Onnx;

/// <summary>
/// Runs images through an ONNX graph and fetches one value: bicubic resize (as the other encoders: align_corners
/// False, no antialias), <c>(x − mean) / std · input_scale</c>, channel order, the preprocessing graph (at its own
/// fixed size, its output then resized to the input size), the model. A graph with a fixed batch size is run chunk
/// by chunk (the last chunk padded with zeros).
/// </summary>
public sealed class OnnxImageRunner : IDisposable
{
    readonly OnnxImageSettings settings;
    readonly InferenceSession model;
    readonly InferenceSession? preprocess;
    readonly RunOptions runOptions = new();
    readonly Tensor mean, std;
    readonly Device device;

    public OnnxImageRunner(OnnxImageSettings settings, Device device, ILogger logger)
    {
        this.settings = settings;
        this.device = device;
        var bytes = settings.Model.Graph.FetchOnly(settings.Model.ReadBytes(), settings.Output,
            settings.FreeShape ? settings.ModelInput.Name : null);
        (model, Provider) = OnnxSessions.Create(bytes, settings.Model.Path, "weights", device, logger);
        try
        {
            if (settings.Preprocess is { } file)
                (preprocess, _) = OnnxSessions.Create(file.ReadBytes(), file.Path, "preprocess", device, logger);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        mean = torch.tensor(settings.Normalization.Mean, device: device).view(1, 3, 1, 1);
        std = torch.tensor(settings.Normalization.Std, device: device).view(1, 3, 1, 1);
    }

    public OnnxImageSettings Settings => settings;

    /// <summary>The execution provider the model runs on (<c>CPU</c> or <c>CUDA:i</c>).</summary>
    public string Provider { get; }

    /// <summary>images: (B, 3, H, W) float32 in [0, 1] -> the fetched value (B, ...) float32 on the runner's device.</summary>
    public Tensor Run(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"{settings.Model.Path}: images must be (B, 3, H, W), got [{string.Join(", ", images.shape)}]");
        using var noGrad = torch.no_grad();
        using var scope = NewDisposeScope();
        var x = Resized(images.to(float32, device), settings.PreprocessSize ?? settings.InputSize);
        x = (x - mean) / std;
        if (settings.InputScale != 1) x = x * settings.InputScale;
        if (settings.Bgr) x = x.flip(1);
        if (preprocess != null)
            x = Resized(RunGraph(preprocess, settings.Preprocess!.Path, settings.FirstInput.Name, settings.PreprocessOutput!,
                settings.PreprocessBatch, x), settings.InputSize);
        return RunGraph(model, settings.Model.Path, settings.ModelInput.Name, settings.Output, settings.ModelBatch, x)
            .to(device).MoveToOuterDisposeScope();
    }

    static Tensor Resized(Tensor x, int side) =>
        x.shape[2] == side && x.shape[3] == side ? x : ImageResize.Bicubic(x, side, side, antialias: false);

    /// <summary>
    /// x (B, ...) through <paramref name="session"/>, all at once or, when the graph fixes its batch, chunk by chunk
    /// (the last chunk padded with zeros): the fetched value (B, ...) on the CPU.
    /// </summary>
    Tensor RunGraph(InferenceSession session, string path, string input, string output, long? fixedBatch, Tensor x)
    {
        var values = x.cpu().contiguous().data<float>().ToArray();
        long batch = x.shape[0], chunk = fixedBatch ?? batch, sampleLength = values.Length / batch;
        long[] chunkShape = [chunk, .. x.shape[1..]];
        var outputs = new List<float[]>();
        long[]? sample = null;
        for (long start = 0; start < batch; start += chunk)
        {
            long count = Math.Min(chunk, batch - start);
            var fed = new float[chunk * sampleLength];
            Array.Copy(values, start * sampleLength, fed, 0, count * sampleLength);
            var (fetched, shape) = RunChunk(session, path, input, output, fed, chunkShape);
            if (shape.Length == 0 || shape[0] != chunk)
                throw new InvalidOperationException(
                    $"{path}: '{output}' is [{string.Join(", ", shape)}] for a batch of {chunk}: the graph does not keep the batch dimension first{FreeShapeHint(session)}");
            sample ??= shape[1..];
            if (!shape[1..].SequenceEqual(sample))
                throw new InvalidOperationException($"{path}: '{output}' changed shape between batches");
            outputs.Add(fetched.AsSpan(0, (int)(count * (fetched.Length / chunk))).ToArray());
        }
        var all = outputs.Count == 1 ? outputs[0] : outputs.SelectMany(o => o).ToArray();
        return torch.tensor(all, [batch, .. sample!]);
    }

    /// <summary>One chunk through a graph: the fetched values and their shape.</summary>
    (float[] Values, long[] Shape) RunChunk(InferenceSession session, string path, string input, string output, float[] values, long[] shape)
    {
        try
        {
            using var fed = OrtValue.CreateTensorValueFromMemory(values, shape);
            using var fetched = session.Run(runOptions, [input], [fed], [output]);
            var value = fetched[0];
            var info = value.GetTensorTypeAndShape();
            if (info.ElementDataType != TensorElementType.Float)
                throw new InvalidOperationException(
                    $"{path}: '{output}' is {info.ElementDataType}; the onnx encoder reads float32 values");
            return (value.GetTensorDataAsSpan<float>().ToArray(), info.Shape);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException(
                $"{path}: ONNX Runtime failed fetching '{output}' for input [{string.Join(", ", shape)}]{FreeShapeHint(session)}: {e.Message}", e);
        }
    }

    /// <summary>What to add to a failure of <paramref name="session"/> when it is the model and its shape was freed.</summary>
    string FreeShapeHint(InferenceSession session) => settings.FreeShape && session == model
        ? " (free_shape is on: this graph may need the batch or image size its export fixes)" : "";

    public void Dispose()
    {
        model.Dispose();
        preprocess?.Dispose();
        runOptions.Dispose();
        mean.Dispose();
        std.Dispose();
    }
}
