using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using RaePipeline.Abstractions;
using TorchSharp;

namespace RaePipeline.Encoders.Onnx;

/// <summary>
/// Builds ONNX Runtime sessions: the CUDA execution provider when the pipeline's device is a CUDA device and this
/// ONNX Runtime build has it (the GPU package, <c>-p:TorchBackend=cuda</c>), otherwise the CPU, said in the log.
/// </summary>
public static class OnnxSessions
{
    /// <summary>Session config key: the folder external initializers (weights beside big models) are read from.</summary>
    const string ExternalInitializersFolder = "session.model_external_initializers_file_folder_path";

    /// <summary>
    /// A session of <paramref name="model"/> (the possibly edited bytes of <paramref name="path"/>, which the option
    /// <paramref name="optionKey"/> named) and the provider it runs on.
    /// </summary>
    public static (InferenceSession Session, string Provider) Create(byte[] model, string path, string optionKey,
        torch.Device device, ILogger logger)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (folder != null) options.AddSessionConfigEntry(ExternalInitializersFolder, folder);
        string provider = "CPU";
        if (device.type == DeviceType.CUDA)
        {
            int index = Math.Max(device.index, 0);
            try
            {
                options.AppendExecutionProvider_CUDA(index);
                provider = $"CUDA:{index}";
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                logger.LogWarning("ONNX Runtime has no CUDA execution provider here ({Reason}); {Path} runs on the CPU",
                    e.Message.Split('\n')[0], path);
            }
        }
        try
        {
            return (new InferenceSession(model, options), provider);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ComponentConfigurationException($"{path}: ONNX Runtime cannot load the model: {e.Message}", optionKey, path);
        }
    }
}
