using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.VisionTransformers;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Decoders.VitDecoder;

/// <summary>
/// RAE's pixel decoder (<c>RAE.decode</c> without the latent statistics): raw latents (B, C, h, w) -> tokens ->
/// <see cref="GeneralDecoder"/> -> unpatchify -> <c>x·std + mean</c> with the encoder's image normalization.
/// </summary>
public sealed class VitDecoder : IDecoder
{
    readonly GeneralDecoder decoder;
    readonly Tensor mean, std;

    public VitDecoder(GeneralDecoder decoder, ImageNormalization encoderNormalization, Device device)
    {
        this.decoder = decoder;
        decoder.to(device);
        ImageNormalization = encoderNormalization;
        mean = torch.tensor(encoderNormalization.Mean, device: device).view(1, 3, 1, 1);
        std = torch.tensor(encoderNormalization.Std, device: device).view(1, 3, 1, 1);
    }

    public VitDecoderArchitecture Architecture => decoder.Architecture;

    public LatentShape LatentShape => decoder.Architecture.Latent;

    public int OutputSize => decoder.Architecture.OutputSize;

    /// <summary>The image normalization decoding inverts (the encoder's).</summary>
    public ImageNormalization ImageNormalization { get; }

    public nn.Module Module => decoder;

    public GeneralDecoder Network => decoder;

    // latents: (B, C, h, w) raw -> images (B, 3, h·P, w·P), about [0, 1], not clamped
    public Tensor Decode(Tensor latents)
    {
        var shape = LatentShape;
        if (latents.dim() != 4 || latents.shape[1] != shape.Channels || latents.shape[2] != shape.Height || latents.shape[3] != shape.Width)
            throw new ArgumentException($"decoder expects latents (B, {shape.Channels}, {shape.Height}, {shape.Width}), got [{string.Join(", ", latents.shape)}]");
        using var scope = NewDisposeScope();
        var logits = decoder.forward(PatchLayout.GridToTokens(latents));
        return ToImages(logits).MoveToOuterDisposeScope();
    }

    /// <summary>logits (B, N, P·P·3) -> images (B, 3, h·P, w·P) in the encoder's pixel range.</summary>
    public Tensor ToImages(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var images = PatchLayout.Unpatchify(logits, LatentShape.Height, LatentShape.Width, Architecture.PatchSize);
        return (images * std + mean).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        decoder.Dispose();
        mean.Dispose();
        std.Dispose();
    }

    public static VitDecoder Create(ComponentContext context, VitDecoderOptions options)
    {
        var architecture = ResolveArchitecture(context, options);
        var normalization = ResolveNormalization(context, options);
        var decoder = new GeneralDecoder(architecture);
        try
        {
            if (context.WeightsPath == null)
            {
                using var generator = new Generator((ulong)context.Seed);
                decoder.InitializeRandomly(generator);
                context.LoggerFactory.CreateLogger(VitDecoderRegistrar.Name).LogInformation(
                    "Decoder '{Component}' has no weights: randomly initialized (seed {Seed}) for training", VitDecoderRegistrar.Name, context.Seed);
            }
            else
            {
                DecoderCheckpoint.Load(decoder, context.WeightsPath);
            }
            return new VitDecoder(decoder, normalization, context.Device);
        }
        catch
        {
            decoder.Dispose();
            throw;
        }
    }

    public static ComponentDescription Describe(ComponentContext context, VitDecoderOptions options)
    {
        var architecture = ResolveArchitecture(context, options);
        // Paired with an encoder, the normalization comes from it when the decoder is built; alone, options must give it.
        if (context.EncoderLatent is null) ResolveNormalization(context, options);
        return new ComponentDescription { Latent = architecture.Latent, ImageSize = architecture.OutputSize };
    }

    /// <summary>Sizes from preset / config / explicit options, latent from the encoder or options.</summary>
    public static VitDecoderArchitecture ResolveArchitecture(ComponentContext context, VitDecoderOptions options)
    {
        (int Width, int Layers, int Heads, int MlpWidth)? baseSizes = null;
        double eps = 1e-12;
        var activation = FeedForwardActivation.Gelu;
        var configPath = options.Config != null ? context.ResolvePath(options.Config) : FolderConfig(context.WeightsPath);
        if (options.Preset != null && options.Config != null)
            throw new ComponentConfigurationException("give either preset or config, not both", "preset");
        if (options.Preset != null)
        {
            if (!VitDecoderArchitecture.Presets.TryGetValue(options.Preset, out var preset))
                throw new ComponentConfigurationException(
                    $"unknown decoder preset '{options.Preset}' (known: {string.Join(", ", VitDecoderArchitecture.Presets.Keys)})", "preset");
            baseSizes = preset;
        }
        else if (configPath != null)
        {
            var config = HuggingFaceConfig.Read(configPath);
            config.RequireModelType(VitDecoderRegistrar.Name, "vit_mae");
            baseSizes = (config.Int("decoder_hidden_size"), config.Int("decoder_num_hidden_layers"),
                config.Int("decoder_num_attention_heads"), config.Int("decoder_intermediate_size"));
            eps = config.Double("layer_norm_eps", 1e-12);
            activation = config.Activation();
        }
        int? width = options.HiddenSize ?? baseSizes?.Width, layers = options.NumHiddenLayers ?? baseSizes?.Layers;
        int? heads = options.NumAttentionHeads ?? baseSizes?.Heads, mlp = options.IntermediateSize ?? baseSizes?.MlpWidth;
        if (width == null || layers == null || heads == null || mlp == null)
            throw new ComponentConfigurationException(
                $"decoder size unknown: give preset ({string.Join(", ", VitDecoderArchitecture.Presets.Keys)}), config (an HF vit_mae config.json), " +
                "a weights folder with config.json, or hidden_size, num_hidden_layers, num_attention_heads and intermediate_size", "preset");
        if (width <= 0 || layers <= 0 || heads <= 0 || mlp <= 0 || width % heads != 0)
            throw new ComponentConfigurationException(
                $"decoder sizes do not fit: hidden_size {width} must be a positive multiple of num_attention_heads {heads}; layers {layers}, MLP {mlp}", "hidden_size");
        if (width % 4 != 0)
            throw new ComponentConfigurationException($"decoder hidden_size {width} must be divisible by 4 (2-D sin-cos position table)", "hidden_size");
        if (options.PatchSize <= 0)
            throw new ComponentConfigurationException($"patch_size must be positive, got {options.PatchSize}", "patch_size");
        return new VitDecoderArchitecture(width.Value, layers.Value, heads.Value, mlp.Value, ResolveLatent(context, options),
            options.PatchSize, eps, activation);
    }

    static LatentShape ResolveLatent(ComponentContext context, VitDecoderOptions options)
    {
        LatentShape? fromOptions = null;
        if (options.LatentChannels != null || options.LatentGrid != null)
        {
            if (options.LatentChannels is not > 0 || options.LatentGrid is not > 0)
                throw new ComponentConfigurationException("latent_channels and latent_grid must both be given (positive)",
                    options.LatentChannels == null ? "latent_channels" : "latent_grid");
            fromOptions = new LatentShape(options.LatentChannels.Value, options.LatentGrid.Value, options.LatentGrid.Value);
        }
        if (context.EncoderLatent is { } encoder)
        {
            if (encoder.Height != encoder.Width)
                throw new ComponentConfigurationException($"the decoder needs a square latent grid, the encoder gives {encoder}");
            if (fromOptions != null && fromOptions != encoder)
                throw new ComponentConfigurationException(
                    $"latent_channels/latent_grid give {fromOptions}, but the pipeline's encoder produces {encoder}", "latent_channels");
            return encoder;
        }
        return fromOptions ?? throw new ComponentConfigurationException(
            "decoder latent shape unknown: pair it with an encoder or give latent_channels and latent_grid", "latent_channels");
    }

    static ImageNormalization ResolveNormalization(ComponentContext context, VitDecoderOptions options)
    {
        if (context.EncoderImageNormalization is { } fromEncoder) return fromEncoder;
        if (options.ImageMean == null || options.ImageStd == null)
            throw new ComponentConfigurationException(
                "the decoder outputs x·std + mean with the encoder's image normalization: pair it with an encoder or give image_mean and image_std",
                options.ImageMean == null ? "image_mean" : "image_std");
        return ImageNormalizationSource.Resolve(options.ImageMean, options.ImageStd, null, ImageNormalization.ImageNet);
    }

    static string? FolderConfig(string? weightsPath)
    {
        if (weightsPath == null || !Directory.Exists(weightsPath)) return null;
        var path = Path.Combine(weightsPath, "config.json");
        return File.Exists(path) ? path : null;
    }
}
