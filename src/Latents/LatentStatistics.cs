using System.Collections;
using RaePipeline.Abstractions;
using RaePipeline.Distributed;
using RaePipeline.Weights;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace RaePipeline.Latents;

/// <summary>
/// RAE's latent normalization (<c>normalization_stat_path</c>): per-element statistics (C, h, w), applied as
/// <c>z ← (z − mean)/sqrt(var + eps)</c> after encoding and inverted before decoding. <see cref="Mean"/> may be
/// absent (the released DINOv2-B statistics have <c>mean = None</c>), which means 0.
/// Files: <c>stat.pt</c> = <c>torch.save({"mean": Tensor|None, "var": Tensor})</c>; the safetensors twin holds
/// <c>var</c> (and <c>mean</c> when present; otherwise metadata <c>"mean": "None"</c>).
/// </summary>
public sealed class LatentStatistics : IDisposable
{
    public const double DefaultEps = 1e-5;
    const string MeanKey = "mean", VarKey = "var";

    public LatentStatistics(Tensor? mean, Tensor variance, double eps = DefaultEps)
    {
        if (variance.dim() != 3)
            throw new ArgumentException($"latent variance must be (C, h, w), got [{string.Join(", ", variance.shape)}]");
        if (mean is not null && !mean.shape.SequenceEqual(variance.shape))
            throw new ArgumentException(
                $"latent mean [{string.Join(", ", mean.shape)}] and variance [{string.Join(", ", variance.shape)}] differ in shape");
        Mean = mean;
        Variance = variance;
        Eps = eps;
    }

    /// <summary>(C, h, w) or null (= 0).</summary>
    public Tensor? Mean { get; }

    /// <summary>(C, h, w).</summary>
    public Tensor Variance { get; }

    public double Eps { get; }

    public LatentShape Shape => new((int)Variance.shape[0], (int)Variance.shape[1], (int)Variance.shape[2]);

    // z: (B, C, h, w) raw -> (z − mean)/sqrt(var + eps)
    public Tensor Normalize(Tensor z)
    {
        CheckShape(z);
        using var scope = NewDisposeScope();
        var centered = Mean is null ? z : z - Mean.to(z.dtype, z.device);
        return (centered / (Variance.to(z.dtype, z.device) + Eps).sqrt()).MoveToOuterDisposeScope();
    }

    // z: (B, C, h, w) normalized -> z·sqrt(var + eps) + mean
    public Tensor Denormalize(Tensor z)
    {
        CheckShape(z);
        using var scope = NewDisposeScope();
        var scaled = z * (Variance.to(z.dtype, z.device) + Eps).sqrt();
        return (Mean is null ? scaled : scaled + Mean.to(z.dtype, z.device)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Reads <c>stat.pt</c> or its <c>.safetensors</c> twin. Refused, naming the file and the tensor: another layout,
    /// shapes other than (C, h, w), NaN or infinite values, negative variances.
    /// </summary>
    /// <summary>Adds what normalizing with these statistics depends on (variance, mean, eps) to <paramref name="fingerprint"/>.</summary>
    public void AddTo(RunFingerprint fingerprint)
    {
        fingerprint.Add($"latent statistics: eps {Eps}, mean {(Mean is null ? "none" : "given")}").AddSummary(Variance);
        if (Mean is not null) fingerprint.AddSummary(Mean);
    }

    public static LatentStatistics Load(string path, double eps = DefaultEps)
    {
        if (!File.Exists(path)) throw new WeightsFormatException($"latent statistics not found: {path}", path);
        var extension = Path.GetExtension(path).ToLowerInvariant();
        return extension switch
        {
            ".safetensors" => LoadSafeTensors(path, eps),
            ".pt" or ".pth" => LoadPickle(path, eps),
            _ => throw new WeightsFormatException(
                $"{path}: latent statistics must be a .pt (torch.save of {{\"mean\", \"var\"}}) or .safetensors file", path),
        };
    }

    /// <summary>
    /// The latent shape (C, h, w) of a statistics file, with every check of <see cref="Load"/>; cheap (the file holds
    /// C·h·w values or two such tensors), for validating a pipeline before any heavy work.
    /// </summary>
    public static LatentShape ReadShape(string path)
    {
        using var statistics = Load(path);
        return statistics.Shape;
    }

    /// <summary>Writes <c>.pt</c> (readable by <c>torch.load</c>) or <c>.safetensors</c>, chosen by the extension; atomic.</summary>
    public void Save(string path)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        var variance = Variance.detach().cpu().to(float32).contiguous();
        var mean = Mean?.detach().cpu().to(float32).contiguous();
        try
        {
            switch (extension)
            {
                case ".safetensors":
                    var tensors = new List<KeyValuePair<string, Tensor>> { new(VarKey, variance) };
                    if (mean is not null) tensors.Add(new(MeanKey, mean));
                    SafeTensorsFile.Write(path, tensors,
                        mean is null ? new Dictionary<string, string> { [MeanKey] = "None" } : null);
                    break;
                case ".pt" or ".pth":
                    var dictionary = new Hashtable { [MeanKey] = mean, [VarKey] = variance };
                    AtomicFile.Write(path, stream => PyTorchPickler.PickleStateDict(stream, dictionary, leaveOpen: true));
                    break;
                default:
                    throw new ArgumentException($"{path}: latent statistics are saved as .pt or .safetensors");
            }
        }
        finally
        {
            variance.Dispose();
            mean?.Dispose();
        }
    }

    public void Dispose()
    {
        Mean?.Dispose();
        Variance.Dispose();
    }

    void CheckShape(Tensor z)
    {
        if (z.dim() != 4 || !z.shape.Skip(1).SequenceEqual(Variance.shape))
            throw new ArgumentException(
                $"latents [{string.Join(", ", z.shape)}] do not match the statistics' shape (B, {string.Join(", ", Variance.shape)})");
    }

    static LatentStatistics LoadPickle(string path, double eps)
    {
        using var file = TorchPickleFile.Open(path);
        var top = file.RootDictionary("a dictionary {\"mean\": Tensor|None, \"var\": Tensor}");
        if (!top.Contains(VarKey) || top.Keys.Any(k => k is not (MeanKey or VarKey)))
            throw new WeightsFormatException(
                $"{path}: expected a dictionary {{\"mean\": Tensor|None, \"var\": Tensor}}, found {top.DescribeKeys()}", path);
        var variance = file.ReadTensor(top[VarKey], VarKey);
        Tensor? mean = null;
        try
        {
            if (top.TryGetValue(MeanKey, out var meanValue) && meanValue is not null) mean = file.ReadTensor(meanValue, MeanKey);
            return Create(mean, variance, eps, path);
        }
        finally
        {
            variance.Dispose();
            mean?.Dispose();
        }
    }

    static LatentStatistics LoadSafeTensors(string path, double eps)
    {
        var tensors = SafeTensorsFile.Read(path);
        try
        {
            var unexpected = tensors.Keys.Where(k => k is not (MeanKey or VarKey)).ToList();
            if (!tensors.TryGetValue(VarKey, out var variance) || unexpected.Count > 0)
                throw new WeightsFormatException(
                    $"{path}: expected tensors 'var' and optionally 'mean', found ({string.Join(", ", tensors.Keys)})", path);
            tensors.TryGetValue(MeanKey, out var mean);
            return Create(mean, variance, eps, path);
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }

    /// <summary>Checked float32 copies of the loaded tensors (which stay the caller's).</summary>
    static LatentStatistics Create(Tensor? mean, Tensor variance, double eps, string path)
    {
        if (variance.dim() != 3 || variance.shape.Any(d => d < 1 || d > int.MaxValue))
            throw new WeightsFormatException($"{path}: tensor 'var' has shape [{string.Join(", ", variance.shape)}], expected (C, h, w)", path);
        if (mean is not null && !mean.shape.SequenceEqual(variance.shape))
            throw new WeightsFormatException(
                $"{path}: tensor 'mean' has shape [{string.Join(", ", mean.shape)}], expected [{string.Join(", ", variance.shape)}] like 'var'", path);
        if (!variance.is_floating_point() || (mean is not null && !mean.is_floating_point()))
            throw new WeightsFormatException(
                $"{path}: statistics must be floating point; 'var' is {variance.dtype}{(mean is null ? "" : $", 'mean' is {mean.dtype}")}", path);
        FiniteValues.Require(variance, path, VarKey);
        if (mean is not null) FiniteValues.Require(mean, path, MeanKey);
        using (var negative = (variance < 0).sum())
            if (negative.item<long>() > 0)
                throw new WeightsFormatException(
                    $"{path}: tensor 'var' has {negative.item<long>()} negative values; a variance is never negative", path);
        return new LatentStatistics(mean?.to(float32, copy: true), variance.to(float32, copy: true), eps);
    }
}
