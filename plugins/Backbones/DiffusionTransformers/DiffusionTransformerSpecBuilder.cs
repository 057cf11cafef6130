using RaePipeline.Abstractions;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// Resolves a <see cref="DiffusionTransformerSpec"/> from options, in increasing precedence: the official
/// constructors' defaults (XL, released flags), the <c>config</c> YAML's <c>stage_2.params</c>, the size presets,
/// then explicit options. <c>in_channels</c>/<c>input_size</c> fall back to the encoder's latent and must agree with it.
/// </summary>
public static class DiffusionTransformerSpecBuilder
{
    static readonly string[] SharedConfigKeys =
    [
        "input_size", "patch_size", "in_channels", "hidden_size", "depth", "num_heads", "mlp_ratio",
        "class_dropout_prob", "num_classes", "use_qknorm", "use_swiglu", "use_rope", "use_rmsnorm", "wo_shift",
        "use_pos_embed",
    ];

    public static (DiffusionTransformerSpec Spec, OfficialModelConfig? Config) Build(ComponentContext context, LightningDiTOptions options)
    {
        var config = ReadConfig(context, options, "LightningDiT", ["learn_sigma", "use_gembed"]);
        var size = SizePresets.Backbone(SizePresets.DefaultBackbone);
        if (config is not null)
            size = new TransformerSize(
                config.Int("hidden_size") ?? size.HiddenSize, config.Int("depth") ?? size.Depth, config.Int("num_heads") ?? size.NumHeads);
        if (options.Preset is not null) size = SizePresets.Backbone(options.Preset);
        size = new TransformerSize(options.HiddenSize ?? size.HiddenSize, options.Depth ?? size.Depth, options.NumHeads ?? size.NumHeads);
        var flags = Flags(options, config) with
        {
            LearnSigma = options.LearnSigma ?? config?.Bool("learn_sigma") ?? false,
        };
        return (Finish(context, options, config, DiffusionTransformerKind.LightningDiT, size, null, flags), config);
    }

    public static (DiffusionTransformerSpec Spec, OfficialModelConfig? Config) Build(ComponentContext context, DiTDHOptions options)
    {
        var config = ReadConfig(context, options, "DiTwDDTHead", []);
        var backbone = SizePresets.Backbone(SizePresets.DefaultBackbone);
        var head = SizePresets.Head(SizePresets.DefaultHead);
        if (config is not null)
        {
            var hidden = Pair(config.Ints("hidden_size"), "hidden_size", config.FilePath, allowSingle: false);
            var depth = Pair(config.Ints("depth"), "depth", config.FilePath, allowSingle: false);
            var heads = Pair(config.Ints("num_heads"), "num_heads", config.FilePath, allowSingle: true);
            backbone = new TransformerSize(hidden?[0] ?? backbone.HiddenSize, depth?[0] ?? backbone.Depth, heads?[0] ?? backbone.NumHeads);
            head = new TransformerSize(hidden?[1] ?? head.HiddenSize, depth?[1] ?? head.Depth, heads?[1] ?? head.NumHeads);
        }
        if (options.Preset is not null) backbone = SizePresets.Backbone(options.Preset);
        if (options.HeadPreset is not null) head = SizePresets.Head(options.HeadPreset);
        var hiddenOption = Pair(options.HiddenSize, "hidden_size", null, allowSingle: false);
        var depthOption = Pair(options.Depth, "depth", null, allowSingle: false);
        var headsOption = Pair(options.NumHeads, "num_heads", null, allowSingle: true);
        backbone = new TransformerSize(hiddenOption?[0] ?? backbone.HiddenSize, depthOption?[0] ?? backbone.Depth, headsOption?[0] ?? backbone.NumHeads);
        head = new TransformerSize(hiddenOption?[1] ?? head.HiddenSize, depthOption?[1] ?? head.Depth, headsOption?[1] ?? head.NumHeads);
        return (Finish(context, options, config, DiffusionTransformerKind.DiTDH, backbone, head, Flags(options, config)), config);
    }

    /// <summary>The training-checkpoint entry named by <c>checkpoint_entry</c>.</summary>
    public static RaePipeline.Weights.WeightFiles.CheckpointEntry CheckpointEntry(DiffusionTransformerOptions options) =>
        options.CheckpointEntry.ToLowerInvariant() switch
        {
            "ema" => RaePipeline.Weights.WeightFiles.CheckpointEntry.Ema,
            "model" => RaePipeline.Weights.WeightFiles.CheckpointEntry.Model,
            _ => throw new ComponentConfigurationException(
                $"checkpoint_entry must be 'ema' or 'model', found '{options.CheckpointEntry}'", "checkpoint_entry"),
        };

    static OfficialModelConfig? ReadConfig(ComponentContext context, DiffusionTransformerOptions options, string className,
        string[] extraKeys)
    {
        if (options.Config is null) return null;
        var config = OfficialModelConfig.Read(context.ResolvePath(options.Config));
        if (!config.Target.Split('.').Last().Equals(className, StringComparison.Ordinal))
            throw new ComponentConfigurationException(
                $"{config.FilePath}: stage_2.target is '{config.Target}', expected a {className} (…{className})", "config", config.FilePath);
        var known = SharedConfigKeys.Concat(extraKeys).ToHashSet(StringComparer.Ordinal);
        var unknown = config.Params.Keys.Where(k => !known.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new ComponentConfigurationException(
                $"{config.FilePath}: stage_2.params has keys {className} does not take: {string.Join(", ", unknown)}", "config", config.FilePath);
        if (config.Ints("patch_size") is { Length: > 1 } patches && patches.Distinct().Count() > 1)
            throw new ComponentConfigurationException(
                $"{config.FilePath}: different patch sizes for backbone and head ({string.Join(", ", patches)}) are not supported", "config", config.FilePath);
        return config;
    }

    static DiffusionTransformerFlags Flags(DiffusionTransformerOptions options, OfficialModelConfig? config)
    {
        var released = DiffusionTransformerFlags.Released;
        return new DiffusionTransformerFlags
        {
            UseQkNorm = options.UseQknorm ?? config?.Bool("use_qknorm") ?? released.UseQkNorm,
            UseSwiGlu = options.UseSwiglu ?? config?.Bool("use_swiglu") ?? released.UseSwiGlu,
            UseRope = options.UseRope ?? config?.Bool("use_rope") ?? released.UseRope,
            UseRmsNorm = options.UseRmsnorm ?? config?.Bool("use_rmsnorm") ?? released.UseRmsNorm,
            WoShift = options.WoShift ?? config?.Bool("wo_shift") ?? released.WoShift,
            UsePosEmbed = options.UsePosEmbed ?? config?.Bool("use_pos_embed") ?? released.UsePosEmbed,
        };
    }

    static DiffusionTransformerSpec Finish(ComponentContext context, DiffusionTransformerOptions options,
        OfficialModelConfig? config, DiffusionTransformerKind kind, TransformerSize backbone, TransformerSize? head,
        DiffusionTransformerFlags flags)
    {
        var encoder = context.EncoderLatent;
        if (encoder is { } latent && latent.Height != latent.Width)
            throw new ComponentConfigurationException($"the encoder's latent {latent} is not square; these models need h = w", "input_size");
        int channels = options.InChannels ?? config?.Int("in_channels") ?? encoder?.Channels
                       ?? throw new ComponentConfigurationException(
                           "in_channels is unknown: set in_channels (or a config), or use an encoder that states its latent", "in_channels");
        int inputSize = options.InputSize ?? config?.Int("input_size") ?? encoder?.Height
                        ?? throw new ComponentConfigurationException(
                            "input_size is unknown: set input_size (or a config), or use an encoder that states its latent", "input_size");
        if (encoder is { } e && e.Channels != channels)
            throw new ComponentConfigurationException(
                $"in_channels {channels} does not match the encoder's latent {e} ({e.Channels} channels)", "in_channels");
        if (encoder is { } g && g.Height != inputSize)
            throw new ComponentConfigurationException(
                $"input_size {inputSize} does not match the encoder's latent {g} ({g.Height}x{g.Width} grid)", "input_size");
        var spec = new DiffusionTransformerSpec
        {
            Kind = kind,
            InChannels = channels,
            InputSize = inputSize,
            PatchSize = options.PatchSize ?? config?.Ints("patch_size")?[0] ?? 1,
            Backbone = backbone,
            Head = head,
            MlpRatio = options.MlpRatio ?? config?.Double("mlp_ratio") ?? 4.0,
            NumClasses = options.NumClasses ?? config?.Int("num_classes") ?? 1000,
            Flags = flags,
        };
        spec.Validate();
        return spec;
    }

    static int[]? Pair(int[]? values, string key, string? file, bool allowSingle)
    {
        if (values is null) return null;
        if (values.Length == 2) return values;
        if (values.Length == 1 && allowSingle) return [values[0], values[0]];
        var where = file is null ? "" : $"{file}: stage_2.params.";
        throw new ComponentConfigurationException(
            $"{where}{key} must be a [backbone, head] pair{(allowSingle ? " or one number" : "")}, found [{string.Join(", ", values)}]",
            file is null ? key : "config", file);
    }
}
