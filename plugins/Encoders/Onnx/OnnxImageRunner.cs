using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using RaePipeline.VisionTransformers;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Encoders.Onnx;

/// <summary>
/// Runs images through an ONNX graph and fetches one value: bicubic resize (as the other encoders: align_corners
/// False, no antialias), <c>(x − mean) / std · input_scale</c>, channel order, the preprocessing graph, the model.
/// A graph with a fixed batch size is run chunk by chunk (the last chunk padded with zeros).
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
        var bytes = settings.Model.Graph.FetchOnly(settings.Model.ReadBytes(), settings.Output);
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
        int size = settings.InputSize;
        var x = images.to(float32, device);
        if (x.shape[2] != size || x.shape[3] != size) x = ImageResize.Bicubic(x, size, size, antialias: false);
        x = (x - mean) / std;
        if (settings.InputScale != 1) x = x * settings.InputScale;
        if (settings.Bgr) x = x.flip(1);
        var pixels = x.cpu().contiguous().data<float>().ToArray();

        long batch = images.shape[0], chunk = settings.StaticBatch ?? batch;
        long sampleLength = 3L * size * size;
        var outputs = new List<float[]>();
        long[]? sample = null;
        for (long start = 0; start < batch; start += chunk)
        {
            long count = Math.Min(chunk, batch - start);
            var input = new float[chunk * sampleLength];
            Array.Copy(pixels, start * sampleLength, input, 0, count * sampleLength);
            var (values, shape) = RunChunk(input, [chunk, 3, size, size]);
            sample ??= shape[1..];
            if (!shape[1..].SequenceEqual(sample))
                throw new InvalidOperationException($"{settings.Model.Path}: '{settings.Output}' changed shape between batches");
            long length = values.Length / chunk;
            outputs.Add(values.AsSpan(0, (int)(count * length)).ToArray());
        }
        var all = outputs.Count == 1 ? outputs[0] : outputs.SelectMany(o => o).ToArray();
        return torch.tensor(all, [batch, .. sample!]).to(device).MoveToOuterDisposeScope();
    }

    /// <summary>One chunk through the preprocessing graph and the model: the fetched values and their shape.</summary>
    (float[] Values, long[] Shape) RunChunk(float[] input, long[] shape)
    {
        try
        {
            using var fed = OrtValue.CreateTensorValueFromMemory(input, shape);
            IDisposableReadOnlyCollection<OrtValue>? preprocessed = null;
            try
            {
                var modelInput = fed;
                if (preprocess != null)
                {
                    preprocessed = preprocess.Run(runOptions, [settings.FirstInput.Name], [fed], [settings.PreprocessOutput!]);
                    modelInput = preprocessed[0];
                }
                using var fetched = model.Run(runOptions, [settings.ModelInput.Name], [modelInput], [settings.Output]);
                var value = fetched[0];
                var info = value.GetTensorTypeAndShape();
                if (info.ElementDataType != TensorElementType.Float)
                    throw new InvalidOperationException(
                        $"{settings.Model.Path}: '{settings.Output}' is {info.ElementDataType}; the onnx encoder reads float32 values");
                return (value.GetTensorDataAsSpan<float>().ToArray(), info.Shape);
            }
            finally
            {
                preprocessed?.Dispose();
            }
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException(
                $"{settings.Model.Path}: ONNX Runtime failed fetching '{settings.Output}' for input [{string.Join(", ", shape)}]: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        model.Dispose();
        preprocess?.Dispose();
        runOptions.Dispose();
        mean.Dispose();
        std.Dispose();
    }
}
