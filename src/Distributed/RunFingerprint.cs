using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Distributed;

/// <summary>
/// What a sharded job's partial results depend on, hashed (SHA-256, 16 hex digits): settings as text, exact values
/// (labels), and tensors or modules by shape, float64 sum and sum of squares (weights of any size hash quickly). Chunks
/// are reused and merged only under the same fingerprint, so a piece computed with other weights, inputs or options is
/// never mixed into a result.
/// </summary>
public sealed class RunFingerprint : IDisposable
{
    readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public RunFingerprint Add(string text)
    {
        hash.AppendData(Encoding.UTF8.GetBytes(text + "\n"));
        return this;
    }

    /// <summary>Every value of <paramref name="tensor"/> (labels, indices: small tensors whose order matters).</summary>
    public RunFingerprint AddValues(Tensor tensor)
    {
        using var values = tensor.detach().cpu().contiguous();
        Add(string.Join("x", values.shape));
        hash.AppendData(values.bytes);
        return this;
    }

    /// <summary>Shape, float64 sum and sum of squares of <paramref name="tensor"/>.</summary>
    public RunFingerprint AddSummary(Tensor tensor)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var values = tensor.detach().to(float64);
        Add(string.Join("x", tensor.shape));
        hash.AppendData(BitConverter.GetBytes(values.sum().item<double>()));
        hash.AppendData(BitConverter.GetBytes(values.square().sum().item<double>()));
        return this;
    }

    /// <summary>Every state tensor of <paramref name="module"/> by name and summary.</summary>
    public RunFingerprint AddModule(nn.Module module)
    {
        foreach (var (name, tensor) in module.state_dict())
        {
            Add(name);
            AddSummary(tensor);
        }
        return this;
    }

    /// <summary>
    /// A component's weights: its <c>Module</c> when it exposes one (decoders and denoisers by contract, the built-in
    /// encoders by their public property); otherwise only its settings, which the caller adds as text.
    /// </summary>
    public RunFingerprint AddComponent(object component)
    {
        if (component.GetType().GetProperty("Module")?.GetValue(component) is nn.Module module) AddModule(module);
        return this;
    }

    /// <summary>The fingerprint: 16 lower-case hex digits.</summary>
    public string Finish() => Convert.ToHexString(hash.GetHashAndReset())[..16].ToLowerInvariant();

    public void Dispose() => hash.Dispose();
}
