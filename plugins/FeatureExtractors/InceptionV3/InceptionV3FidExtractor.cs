using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.FeatureExtractors.InceptionV3;

/// <summary>
/// <c>inception-v3-fid</c>: FID features (pool3, 2048), sFID features (mixed_6/conv[..., :7], 2023) and Inception
/// Score class probabilities (1008) from the FID
/// Inception-v3 with the user's <c>pt_inception-2015-12-05-6726825d.pth</c> (pytorch-fid's release file, or the
/// same state dict as safetensors). Asking for features and then probabilities of the same batch runs the network once.
/// The host builds it through its public constructor (contracts 1.1 constructor injection).
/// </summary>
public sealed class InceptionV3FidExtractor : IFeatureExtractor
{
    public const string WeightsFileName = "pt_inception-2015-12-05-6726825d.pth";

    readonly FidInceptionV3 network;
    readonly Device device;
    Tensor? lastImages;
    Tensor? lastFeatures;
    Tensor? lastSpatial;

    /// <summary>The component the host builds: the network with the weights file of the component's <c>weights</c> entry.</summary>
    public InceptionV3FidExtractor(ComponentContext context, ILogger<InceptionV3FidExtractor> logger)
        : this(ReadNetwork(InceptionV3Registrar.RequireWeights(context)), context.Device)
    {
        logger.LogInformation("FID Inception-v3 weights from {Path} on {Device}", context.WeightsPath, context.Device);
    }

    /// <summary>Takes <paramref name="network"/> over: on <paramref name="device"/>, in eval mode, frozen.</summary>
    InceptionV3FidExtractor(FidInceptionV3 network, Device device)
    {
        network.to(device);
        network.eval();
        foreach (var parameter in network.parameters()) parameter.requires_grad = false;
        this.network = network;
        this.device = device;
    }

    public int FeatureDimension => FidInceptionV3.FeatureDimension;

    /// <summary>The network, for tests that run its layers one by one.</summary>
    internal nn.Module Network => network;

    public int? SpatialFeatureDimension => FidInceptionV3.SpatialFeatureDimension;

    /// <summary>The network with TorchSharp's default random initialization after seeding torch's global generator (tests).</summary>
    internal static InceptionV3FidExtractor WithRandomWeights(Device device, long seed)
    {
        manual_seed(seed);
        return new InceptionV3FidExtractor(new FidInceptionV3(), device);
    }

    /// <summary>Loads the state dict from <paramref name="weightsPath"/> strictly: a wrong file fails with the keys that differ.</summary>
    public static InceptionV3FidExtractor Load(string weightsPath, Device device) => new(ReadNetwork(weightsPath), device);

    static FidInceptionV3 ReadNetwork(string weightsPath)
    {
        var network = new FidInceptionV3();
        var stateDict = WeightFiles.ReadStateDict(weightsPath);
        try
        {
            StateDictLoader.Load(network, stateDict, weightsPath);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        finally
        {
            foreach (var tensor in stateDict.Values) tensor.Dispose();
        }
        return network;
    }

    /// <summary>The state dict (for saving a converted file); keys as in the pytorch-fid release file.</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict() => network.state_dict();

    /// <summary>images: (B, 3, H, W) float32 in [0, 1] -> pool3 features (B, 2048) float32.</summary>
    public Tensor Features(Tensor images)
    {
        using var batch = FeaturesWithSpatial(images);
        return batch.Pooled.clone();
    }

    /// <summary>images: (B, 3, H, W) in [0, 1] -> pool3 (B, 2048) and mixed_6/conv[..., :7] (B, 2023), one forward.</summary>
    public FeatureBatch FeaturesWithSpatial(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"inception-v3-fid expects images (B, 3, H, W); found [{string.Join(", ", images.shape)}]");
        using var noGrad = no_grad();
        if (lastImages is not null && lastFeatures is not null && lastSpatial is not null && SameBatch(images))
            return new FeatureBatch(lastFeatures.clone(), lastSpatial.clone());
        using var scope = NewDisposeScope();
        var input = images.detach().to(device).to(float32);
        var (features, spatial) = network.ForwardWithSpatial(input);
        Remember(input, features, spatial);
        return new FeatureBatch(features.MoveToOuterDisposeScope(), spatial.MoveToOuterDisposeScope());
    }

    /// <summary>images: (B, 3, H, W) in [0, 1] -> class probabilities (B, 1008) for the Inception Score.</summary>
    public Tensor? ClassProbabilities(Tensor images)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var features = Features(images);
        return network.ClassProbabilities(features).MoveToOuterDisposeScope();
    }

    bool SameBatch(Tensor images)
    {
        if (!images.shape.SequenceEqual(lastImages!.shape)) return false;
        using var scope = NewDisposeScope();
        return images.detach().to(device).to(float32).eq(lastImages).all().item<bool>();
    }

    void Remember(Tensor input, Tensor features, Tensor spatial)
    {
        lastImages?.Dispose();
        lastFeatures?.Dispose();
        lastSpatial?.Dispose();
        lastImages = input.clone().DetachFromDisposeScope();
        lastFeatures = features.clone().DetachFromDisposeScope();
        lastSpatial = spatial.clone().DetachFromDisposeScope();
    }

    public void Dispose()
    {
        lastImages?.Dispose();
        lastFeatures?.Dispose();
        lastSpatial?.Dispose();
        network.Dispose();
    }
}
