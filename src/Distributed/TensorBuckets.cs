using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Distributed;

/// <summary>
/// Many tensors packed into few flat buffers ("buckets") for collectives: consecutive tensors of one dtype and device,
/// at most <c>bucketBytes</c> per bucket (a larger tensor fills one alone), so one all-reduce or broadcast of 25 MB
/// moves what would otherwise be hundreds of small calls. One reusable buffer per dtype and device holds the bucket
/// being moved.
/// </summary>
internal sealed class TensorBuckets : IDisposable
{
    readonly Dictionary<(ScalarType, string), Tensor> buffers = [];

    /// <summary>Members: indices into the planned list; Offsets: each member's first element in the bucket.</summary>
    public sealed record Bucket(ScalarType Type, Device Device, int[] Members, long[] Offsets, long Elements);

    public TensorBuckets(IReadOnlyList<Tensor> tensors, long bucketBytes)
    {
        if (bucketBytes < 1) throw new ArgumentOutOfRangeException(nameof(bucketBytes), bucketBytes, "a bucket must hold at least one byte");
        var buckets = new List<Bucket>();
        var members = new List<int>();
        var offsets = new List<long>();
        long elements = 0;
        void Close()
        {
            if (members.Count == 0) return;
            var first = tensors[members[0]];
            buckets.Add(new Bucket(first.dtype, first.device, [.. members], [.. offsets], elements));
            members.Clear();
            offsets.Clear();
            elements = 0;
        }
        for (int i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            if (members.Count > 0)
            {
                var previous = tensors[members[0]];
                if (previous.dtype != tensor.dtype || previous.device != tensor.device ||
                    (elements + tensor.numel()) * tensor.element_size() > bucketBytes)
                    Close();
            }
            members.Add(i);
            offsets.Add(elements);
            elements += tensor.numel();
        }
        Close();
        Buckets = buckets;
        Bytes = tensors.Sum(TensorMemory.ByteCount);
    }

    public IReadOnlyList<Bucket> Buckets { get; }

    /// <summary>Bytes of all tensors together.</summary>
    public long Bytes { get; }

    /// <summary>The first <c>bucket.Elements</c> elements of the reusable buffer for <paramref name="bucket"/>'s dtype and device (a view: dispose it).</summary>
    public Tensor BufferFor(Bucket bucket)
    {
        var key = (bucket.Type, bucket.Device.ToString());
        long largest = Buckets.Where(b => b.Type == bucket.Type && b.Device.ToString() == key.Item2).Max(b => b.Elements);
        if (!buffers.TryGetValue(key, out var buffer))
            buffers[key] = buffer = torch.empty(largest, bucket.Type, bucket.Device).DetachFromDisposeScope();
        return buffer.narrow(0, 0, bucket.Elements);
    }

    /// <summary>Copies the bucket's members into <paramref name="buffer"/>, zeros for a member that is null (a parameter without a gradient).</summary>
    public static void Pack(Bucket bucket, Func<int, Tensor?> member, Tensor buffer)
    {
        using var scope = NewDisposeScope();
        for (int m = 0; m < bucket.Members.Length; m++)
        {
            long length = m + 1 < bucket.Members.Length ? bucket.Offsets[m + 1] - bucket.Offsets[m] : bucket.Elements - bucket.Offsets[m];
            var target = buffer.narrow(0, bucket.Offsets[m], length);
            if (member(bucket.Members[m]) is { } tensor) target.copy_(tensor.reshape(-1));
            else target.zero_();
        }
    }

    /// <summary>Member <c>m</c>'s elements in <paramref name="buffer"/>, shaped like <paramref name="like"/> (a view).</summary>
    public static Tensor Slot(Bucket bucket, int m, Tensor buffer, Tensor like) =>
        buffer.narrow(0, bucket.Offsets[m], like.numel()).view(like.shape);

    public void Dispose()
    {
        foreach (var buffer in buffers.Values) buffer.Dispose();
        buffers.Clear();
    }
}
