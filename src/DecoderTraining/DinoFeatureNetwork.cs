using RaePipeline.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// The frozen DINO (v1) ViT the discriminator looks through, with timm's keys (<c>patch_embed.proj.*</c>,
/// <c>cls_token</c>, <c>pos_embed</c>, <c>blocks.N.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}</c>,
/// <c>norm.*</c>). Pre-LN blocks with GELU (tanh approximation, as the reference discriminator's re-implementation).
/// Returns token features (no CLS, no final norm) of the last block and of each key block.
/// </summary>
public sealed class DinoFeatureNetwork : nn.Module<Tensor, Tensor[]>
{
    static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    readonly DinoPatchEmbedding patch_embed;
    readonly Parameter cls_token;
    readonly Parameter pos_embed;
    readonly ModuleList<DinoBlock> blocks;
    readonly LayerNorm norm;
    readonly HashSet<int> keyDepths;

    public DinoFeatureNetworkOptions Options { get; }

    /// <summary>Number of feature maps <see cref="forward"/> returns (final block output + one per key depth).</summary>
    public int FeatureCount => keyDepths.Count + 1;

    /// <summary>Tokens per feature map: (input_size / patch_size)^2.</summary>
    public int TokenCount => (Options.InputSize / Options.PatchSize) * (Options.InputSize / Options.PatchSize);

    /// <summary>Builds the network with seeded random weights (truncated-normal-like N(0, 0.02) for linears and tokens).</summary>
    public DinoFeatureNetwork(DinoFeatureNetworkOptions options, Generator? generator = null) : base(nameof(DinoFeatureNetwork))
    {
        var problem = options.Problems().FirstOrDefault();
        if (problem != default) throw new ArgumentException($"DINO feature network: {problem.Message}", problem.Key);
        Options = options;
        keyDepths = options.EffectiveKeyDepths.ToHashSet();
        int grid = options.InputSize / options.PatchSize;
        patch_embed = new DinoPatchEmbedding(options.EmbedDim, options.PatchSize, generator);
        cls_token = new Parameter(randn([1, 1, options.EmbedDim], generator: generator) * 0.02);
        pos_embed = new Parameter(randn([1, grid * grid + 1, options.EmbedDim], generator: generator) * 0.02);
        blocks = new ModuleList<DinoBlock>(Enumerable.Range(0, options.Depth)
            .Select(_ => new DinoBlock(options.EmbedDim, options.NumHeads, (int)Math.Round(options.EmbedDim * options.MlpRatio), options.NormEps, generator))
            .ToArray());
        norm = nn.LayerNorm(options.EmbedDim, eps: options.NormEps);
        RegisterComponents();
        Freeze();
    }

    /// <summary>
    /// Reads the DINO checkpoint (<c>dino_vit_small_patch8_224.pth</c> or a safetensors copy) with the reference's
    /// load-time change: the key third of every <c>attn.qkv.bias</c> is zeroed (softmax is invariant to it).
    /// </summary>
    public static DinoFeatureNetwork Load(string path, DinoFeatureNetworkOptions options)
    {
        if (!File.Exists(path))
            throw new WeightsFormatException(
                $"the discriminator needs the DINO ViT weights (timm keys patch_embed.proj.*, cls_token, pos_embed, blocks.N.*, norm.*; " +
                $"e.g. dino_vit_small_patch8_224.pth) but {path} does not exist; set discriminator.weights to that file, " +
                "or use a random feature network (discriminator.random: true), or switch the GAN off (disc_weight: 0)", path);
        var network = new DinoFeatureNetwork(options);
        try
        {
            using var scope = NewDisposeScope();
            var state = WeightFiles.ReadStateDict(path);
            foreach (var key in state.Keys.Where(k => k.EndsWith(".attn.qkv.bias", StringComparison.Ordinal)).ToList())
            {
                var bias = state[key].clone();
                long width = bias.shape[0] / 3;
                bias[TensorIndex.Slice(width, 2 * width)] = 0;
                state[key] = bias;
            }
            StateDictLoader.Load(network, state, $"{path} (DINO ViT for the discriminator, {options})");
            network.Freeze();
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// x: (B, 3, H, W) in [-1, 1] -> [final block output, key block outputs in depth order], each (B, D, T) with
    /// T = (input_size / patch)^2 tokens (CLS removed). Gradients flow to x; the weights stay frozen.
    /// </summary>
    public override Tensor[] forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.interpolate(x, [Options.InputSize, Options.InputSize], mode: InterpolationMode.Bilinear, align_corners: false);
        // [-1, 1] -> [0, 1] -> ImageNet-normalized.
        var mean = tensor(ImageNetMean, device: x.device).view(1, 3, 1, 1);
        var std = tensor(ImageNetStd, device: x.device).view(1, 3, 1, 1);
        h = ((h + 1) * 0.5 - mean) / std;
        var tokens = patch_embed.call(h);
        long batch = tokens.shape[0];
        tokens = cat([cls_token.expand(batch, -1, -1), tokens], 1) + pos_embed;
        var features = new List<Tensor>();
        for (int i = 0; i < blocks.Count; i++)
        {
            tokens = blocks[i].call(tokens);
            if (keyDepths.Contains(i)) features.Add(WithoutCls(tokens));
        }
        features.Insert(0, WithoutCls(tokens));
        return features.Select(f => f.MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>tokens: (B, 1 + T, D) -> (B, D, T).</summary>
    static Tensor WithoutCls(Tensor tokens) => tokens[.., 1..].transpose(1, 2);

    void Freeze()
    {
        foreach (var parameter in parameters()) parameter.requires_grad = false;
        eval();
    }
}
