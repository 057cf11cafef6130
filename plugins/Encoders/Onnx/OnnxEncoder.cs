using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using static TorchSharp.torch;

namespace RaePipeline.Encoders.Onnx;

/// <summary>
/// A frozen encoder from any exported vision model: images -> <see cref="OnnxImageRunner"/> (resize, normalize, the
/// graph) -> the chosen value -> <see cref="OutputLayout"/> -> latents (B, C, h, w) on the pipeline's device. ONNX
/// Runtime computes no gradients; nothing here is trainable.
/// </summary>
public sealed class OnnxEncoder : IEncoder
{
    readonly OnnxImageRunner runner;
    readonly OutputLayout layout;

    OnnxEncoder(OnnxImageRunner runner, OutputLayout layout)
    {
        this.runner = runner;
        this.layout = layout;
    }

    public LatentShape LatentShape => layout.Latent;

    public int InputSize => runner.Settings.InputSize;

    public ImageNormalization ImageNormalization => runner.Settings.Normalization;

    /// <summary>The execution provider the model runs on.</summary>
    public string Provider => runner.Provider;

    /// <summary>images: (B, 3, H, W) float32 in [0, 1] -> raw latents (B, C, h, w).</summary>
    public Tensor Encode(Tensor images)
    {
        using var scope = NewDisposeScope();
        var grid = layout.ToGrid(runner.Run(images)).contiguous();
        if (grid.shape[1] != LatentShape.Channels || grid.shape[2] != LatentShape.Height || grid.shape[3] != LatentShape.Width)
            throw new InvalidOperationException(
                $"{runner.Settings.Model.Path}: '{runner.Settings.Output}' gave latents [{string.Join(", ", grid.shape)}], not the {LatentShape} it declared");
        return grid.MoveToOuterDisposeScope();
    }

    public void Dispose() => runner.Dispose();

    /// <summary>Builds the encoder on the context's device; <paramref name="modelPath"/> is the .onnx file.</summary>
    public static OnnxEncoder Create(ComponentContext context, OnnxEncoderOptions options, string modelPath, string componentName)
    {
        var settings = OnnxImageSettings.Resolve(context, options, modelPath, "weights");
        var logger = context.LoggerFactory.CreateLogger(componentName);
        var runner = new OnnxImageRunner(settings, context.Device, logger);
        try
        {
            var layout = OutputLayout.Resolve(options.Layout, options.DropTokens, OutputSample(runner), settings.Output, settings.Model.Path);
            logger.LogInformation(
                "Encoder '{Component}': {Path} on ONNX Runtime ({Provider}), input '{Input}' {Size}x{Size}, latent '{Output}' {Latent}",
                componentName, settings.Model.Path, runner.Provider, settings.FirstInput.Name, settings.InputSize, settings.InputSize,
                settings.Output, layout.Latent);
            return new OnnxEncoder(runner, layout);
        }
        catch
        {
            runner.Dispose();
            throw;
        }
    }

    /// <summary>The latent shape without building the encoder when the file declares it, else from one run on a zero image.</summary>
    public static ComponentDescription Describe(ComponentContext context, OnnxEncoderOptions options, string modelPath)
    {
        var settings = OnnxImageSettings.Resolve(context, options, modelPath, "weights");
        var sample = settings.DeclaredOutputSample;
        if (sample == null)
        {
            using var runner = new OnnxImageRunner(settings, TorchSharp.torch.CPU, context.LoggerFactory.CreateLogger("onnx"));
            sample = OutputSample(runner);
        }
        var layout = OutputLayout.Resolve(options.Layout, options.DropTokens, sample, settings.Output, settings.Model.Path);
        return new ComponentDescription { Latent = layout.Latent, ImageSize = settings.InputSize };
    }

    /// <summary>The fetched value's dimensions after the batch: declared by the file, or seen on one zero image.</summary>
    internal static long[] OutputSample(OnnxImageRunner runner)
    {
        if (runner.Settings.DeclaredOutputSample is { } declared) return declared;
        using var scope = NewDisposeScope();
        int size = runner.Settings.InputSize;
        return runner.Run(zeros(1, 3, size, size)).shape[1..];
    }
}
