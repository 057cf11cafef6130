using System.Numerics;
using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>
/// A tensor as <c>torch.save</c> pickles it (<c>torch._utils._rebuild_tensor_v2</c>): a view with a storage offset,
/// sizes and strides into a storage record of the archive. Nothing is read or checked against the storage until
/// <see cref="TorchPickleFile"/> is asked for the tensor by name, so every refusal can name it.
/// </summary>
public sealed class TorchTensorReference
{
    internal TorchTensorReference(TorchStorageReference storage, BigInteger offset, BigInteger[] size, BigInteger[] stride)
    {
        Storage = storage;
        Offset = offset;
        Size = size;
        Stride = stride;
    }

    internal TorchStorageReference Storage { get; }
    internal BigInteger Offset { get; }
    internal BigInteger[] Size { get; }
    internal BigInteger[] Stride { get; }

    public override string ToString() => $"tensor [{string.Join(", ", Size)}] {Storage.DType}";
}

/// <summary>
/// A storage of a <c>torch.save</c> archive (the persistent id <c>('storage', torch.FloatStorage, key, location,
/// numel)</c>): its bytes are the record <c>data/&lt;key&gt;</c>.
/// </summary>
sealed record TorchStorageReference(string Key, ScalarType DType, BigInteger ElementCount, string Location);
