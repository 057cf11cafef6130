using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Distributed;

/// <summary>
/// Keeps the ranks' copies of a model identical: <see cref="Broadcast(ProcessGroup, nn.Module, int, long)"/> gives
/// every rank the root's parameters and buffers (identical initial weights before data-parallel training; also for
/// an EMA or any named tensors), <see cref="Differences"/> names the tensors that are not bitwise equal on every rank.
/// </summary>
public static class ModuleReplicas
{
    /// <summary>Every rank's <paramref name="module"/> gets <paramref name="root"/>'s state dict (parameters and buffers). Collective.</summary>
    public static void Broadcast(ProcessGroup group, nn.Module module, int root = 0, long bucketBytes = GradientBuckets.DefaultBucketBytes) =>
        Broadcast(group, module.state_dict(), root, bucketBytes);

    /// <summary>
    /// Every rank's <paramref name="tensors"/> (in place) get <paramref name="root"/>'s values, in buckets. The ranks
    /// must hold the same names, dtypes and shapes: that is checked first, and every rank throws the same error naming
    /// the first difference.
    /// </summary>
    public static void Broadcast(ProcessGroup group, IReadOnlyDictionary<string, Tensor> tensors, int root = 0,
        long bucketBytes = GradientBuckets.DefaultBucketBytes)
    {
        if (!group.IsDistributed) return;
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        CheckSameLayout(group, names, tensors);
        var list = names.Select(n => tensors[n]).ToList();
        using var buckets = new TensorBuckets(list, bucketBytes);
        using var noGrad = torch.no_grad();
        foreach (var bucket in buckets.Buckets)
        {
            using var scope = NewDisposeScope();
            var buffer = buckets.BufferFor(bucket);
            if (group.Rank == root) TensorBuckets.Pack(bucket, i => list[i], buffer);
            group.Broadcast(buffer, root);
            if (group.Rank != root)
                for (int m = 0; m < bucket.Members.Length; m++)
                {
                    var tensor = list[bucket.Members[m]];
                    tensor.copy_(TensorBuckets.Slot(bucket, m, buffer, tensor));
                }
        }
    }

    /// <summary>The names whose tensors are not bitwise equal on every rank (empty when the replicas agree). Collective.</summary>
    public static IReadOnlyList<string> Differences(ProcessGroup group, IReadOnlyDictionary<string, Tensor> tensors)
    {
        if (!group.IsDistributed) return [];
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        CheckSameLayout(group, names, tensors);
        using var scope = NewDisposeScope();
        var hashes = torch.tensor(names.Select(n => ContentHash(tensors[n])).ToArray());
        var highest = hashes.clone();
        var lowest = hashes.clone();
        group.AllReduce(highest, ReduceOp.Max);
        group.AllReduce(lowest, ReduceOp.Min);
        var differs = highest.ne(lowest).data<bool>().ToArray();
        return names.Where((_, i) => differs[i]).ToList();
    }

    /// <summary>Throws on every rank (the same error) unless every rank holds the same names, dtypes and shapes.</summary>
    static void CheckSameLayout(ProcessGroup group, IReadOnlyList<string> names, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var layout = string.Join("\n", names.Select(n => $"{n}: {tensors[n].dtype} [{string.Join(", ", tensors[n].shape)}]"));
        long hash = BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(layout)));
        using var highest = torch.tensor(new[] { hash });
        using var lowest = torch.tensor(new[] { hash });
        group.AllReduce(highest, ReduceOp.Max);
        group.AllReduce(lowest, ReduceOp.Min);
        if (highest.item<long>() == lowest.item<long>()) return;
        var layouts = group.AllGatherStrings(layout).Select(l => l.Split('\n')).ToList();
        for (int rank = 1; rank < layouts.Count; rank++)
        {
            var first = layouts[0].Zip(layouts[rank]).FirstOrDefault(p => p.First != p.Second);
            if (first != default || layouts[0].Length != layouts[rank].Length)
                throw new DistributedException(
                    $"the ranks hold different models: rank 0 has {layouts[0].Length} tensors, rank {rank} {layouts[rank].Length}; " +
                    (first != default ? $"first difference: rank 0 '{first.First}', rank {rank} '{first.Second}'" : "one list extends the other"));
        }
    }

    /// <summary>The first 8 bytes of the SHA-256 of a tensor's bytes (on the CPU, contiguous, in chunks of at most 1 GiB).</summary>
    static long ContentHash(Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var flat = tensor.detach().cpu().contiguous().reshape(-1);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long chunk = (1L << 30) / flat.element_size();
        for (long start = 0; start < flat.numel(); start += chunk)
            sha.AppendData(flat.narrow(0, start, Math.Min(chunk, flat.numel() - start)).bytes);
        return BitConverter.ToInt64(sha.GetHashAndReset());
    }
}
