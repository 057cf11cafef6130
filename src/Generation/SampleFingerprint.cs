using System.Security.Cryptography;
using System.Text;
using static TorchSharp.torch;

namespace RaePipeline.Generation;

/// <summary>
/// What a <c>sample</c> run's images depend on, hashed (SHA-256, 16 hex digits): its settings as text, the labels,
/// the time grid, and the denoiser's, decoder's and latent statistics' tensors (their float64 sums and sums of
/// squares). Chunks of a killed run are reused only when the rerun has the same fingerprint, so a chunk sampled with
/// other weights, seed or labels is never mixed into a result.
/// </summary>
public static class SampleFingerprint
{
    public static string Of(string settings, Tensor labels, Tensor grid, IEnumerable<nn.Module> modules, IEnumerable<Tensor> tensors)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(settings));
        using (var cpuLabels = labels.cpu().contiguous()) hash.AppendData(Encoding.ASCII.GetBytes(string.Join(",", cpuLabels.data<long>().ToArray())));
        Append(hash, grid);
        foreach (var module in modules)
            foreach (var (name, tensor) in module.state_dict())
            {
                hash.AppendData(Encoding.UTF8.GetBytes(name));
                Append(hash, tensor);
            }
        foreach (var tensor in tensors) Append(hash, tensor);
        return Convert.ToHexString(hash.GetHashAndReset())[..16].ToLowerInvariant();
    }

    static void Append(IncrementalHash hash, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var values = tensor.detach().to(float64);
        hash.AppendData(Encoding.ASCII.GetBytes(string.Join("x", tensor.shape)));
        hash.AppendData(BitConverter.GetBytes(values.sum().item<double>()));
        hash.AppendData(BitConverter.GetBytes(values.square().sum().item<double>()));
    }
}
