using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// The LPIPS perceptual distance (v0.1, VGG16 variant), frozen: scaling layer, VGG16 activations relu1_2..relu5_3,
/// each channel-normalized, squared difference, a 1x1 linear head per level, spatial mean, sum over levels.
/// Weights come from two user files: a torchvision VGG16 state dict (<c>features.N.*</c>; <c>classifier.*</c> is
/// ignored) and the LPIPS linear heads (<c>lin0..lin4.model.1.weight</c>, e.g. LPIPS' <c>weights/v0.1/vgg.pth</c>).
/// State-dict keys: <c>net.features.N.*</c>, <c>linK.model.1.weight</c>.
/// </summary>
public sealed class Lpips : nn.Module<Tensor, Tensor, Tensor>
{
    // The LPIPS scaling layer: images in [-1, 1] shifted and scaled to ImageNet statistics.
    static readonly float[] Shift = [-0.030f, -0.088f, -0.188f];
    static readonly float[] Scale = [0.458f, 0.448f, 0.450f];
    const double NormalizationEps = 1e-10;

    readonly Vgg16Features net;
    readonly LpipsLinearLayer lin0, lin1, lin2, lin3, lin4;

    /// <summary>An LPIPS network with untrained weights; use <see cref="Load"/> for the real one.</summary>
    public Lpips() : base(nameof(Lpips))
    {
        var channels = Vgg16Features.TapChannels;
        net = new Vgg16Features();
        lin0 = new LpipsLinearLayer(channels[0]);
        lin1 = new LpipsLinearLayer(channels[1]);
        lin2 = new LpipsLinearLayer(channels[2]);
        lin3 = new LpipsLinearLayer(channels[3]);
        lin4 = new LpipsLinearLayer(channels[4]);
        RegisterComponents();
        Freeze();
    }

    /// <summary>Reads both weight files into a frozen LPIPS on <paramref name="device"/>.</summary>
    public static Lpips Load(string vggPath, string linearPath, Device? device = null)
    {
        var lpips = new Lpips();
        try
        {
            lpips.LoadWeights(vggPath, linearPath);
            if (device != null) lpips.to(device);
            return lpips;
        }
        catch
        {
            lpips.Dispose();
            throw;
        }
    }

    /// <summary>Copies the VGG16 and linear-head weights from the two files (clear errors for missing or unfit files).</summary>
    public void LoadWeights(string vggPath, string linearPath)
    {
        if (!File.Exists(vggPath))
            throw new WeightsFormatException(
                $"LPIPS needs the torchvision VGG16 weights (a state dict with features.N.weight/bias, e.g. vgg16-397923af.pth) " +
                $"but {vggPath} does not exist; set lpips_vgg to that file or switch LPIPS off with 'lpips: false'", vggPath);
        if (!File.Exists(linearPath))
            throw new WeightsFormatException(
                $"LPIPS needs its linear-head weights (lin0..lin4.model.1.weight, LPIPS v0.1 vgg.pth) but {linearPath} " +
                "does not exist; set lpips_linear to that file or switch LPIPS off with 'lpips: false'", linearPath);

        using var scope = NewDisposeScope();
        var vgg = WeightFiles.ReadStateDict(vggPath);
        StateDictLoader.Load(net, vgg, $"{vggPath} (VGG16 for LPIPS)",
            ignoreUnexpected: key => key.StartsWith("classifier.", StringComparison.Ordinal));

        var linear = WeightFiles.ReadStateDict(linearPath);
        LpipsLinearLayer[] heads = [lin0, lin1, lin2, lin3, lin4];
        var unexpected = linear.Keys.Where(k => !k.StartsWith("lin", StringComparison.Ordinal)
                                                && !k.StartsWith("net.", StringComparison.Ordinal)
                                                && !k.StartsWith("scaling_layer.", StringComparison.Ordinal))
            .OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
            throw new WeightsFormatException(
                $"{linearPath} (LPIPS linear heads) has keys that are not LPIPS heads: {string.Join(", ", unexpected.Take(12))}" +
                (unexpected.Count > 12 ? $", ... ({unexpected.Count - 12} more)" : "") +
                "; expected lin0..lin4.model.1.weight", linearPath);
        for (int i = 0; i < heads.Length; i++)
        {
            var prefix = $"lin{i}.";
            StateDictLoader.Load(heads[i], linear, $"{linearPath} (LPIPS linear heads)", stripPrefix: prefix,
                ignoreUnexpected: key => !key.StartsWith(prefix, StringComparison.Ordinal));
        }
        Freeze();
    }

    /// <summary>
    /// input, target: (B, 3, H, W) in [-1, 1] -> per-sample distance (B). Gradients flow to the images, never to the
    /// (frozen) weights.
    /// </summary>
    public override Tensor forward(Tensor input, Tensor target)
    {
        if (input.dim() != 4 || input.shape[1] != 3 || !input.shape.SequenceEqual(target.shape))
            throw new ArgumentException(
                $"LPIPS expects two image batches (B, 3, H, W) of one shape, got [{string.Join(", ", input.shape)}] and [{string.Join(", ", target.shape)}]");
        using var scope = NewDisposeScope();
        var shift = tensor(Shift, device: input.device).view(1, 3, 1, 1);
        var scale = tensor(Scale, device: input.device).view(1, 3, 1, 1);
        var featuresInput = net.call((input - shift) / scale);
        var featuresTarget = net.call((target - shift) / scale);
        LpipsLinearLayer[] heads = [lin0, lin1, lin2, lin3, lin4];
        Tensor? total = null;
        for (int level = 0; level < heads.Length; level++)
        {
            var difference = (UnitChannels(featuresInput[level]) - UnitChannels(featuresTarget[level])).square();
            var perSample = heads[level].call(difference).mean([1, 2, 3]);
            total = total is null ? perSample : total + perSample;
        }
        return total!.MoveToOuterDisposeScope();
    }

    /// <summary>Mean LPIPS over the batch (the training loss).</summary>
    public Tensor Loss(Tensor input, Tensor target)
    {
        using var scope = NewDisposeScope();
        return call(input, target).mean().MoveToOuterDisposeScope();
    }

    /// <summary>f: (B, C, H, W) divided by its L2 norm over channels (+1e-10) at every position.</summary>
    static Tensor UnitChannels(Tensor f) => f / (f.square().sum(1, keepdim: true).sqrt() + NormalizationEps);

    void Freeze()
    {
        foreach (var parameter in parameters()) parameter.requires_grad = false;
        eval();
    }
}
