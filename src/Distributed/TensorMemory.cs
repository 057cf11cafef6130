using static TorchSharp.torch;

namespace RaePipeline.Distributed;

/// <summary>Where a contiguous tensor's elements are: a host address for CPU tensors, a device address for CUDA ones.</summary>
static class TensorMemory
{
    /// <summary>
    /// The address of the first element of <paramref name="contiguous"/> (0 when it is empty). TorchSharp's
    /// <c>bytes</c> span starts at the tensor's data pointer; its first element's span is taken, so any size works,
    /// and the span is never read (for a CUDA tensor the address is a device address).
    /// </summary>
    public static unsafe nint Address(Tensor contiguous)
    {
        if (!contiguous.is_contiguous()) throw new ArgumentException("the tensor must be contiguous", nameof(contiguous));
        if (contiguous.numel() == 0) return 0;
        using var first = contiguous.view(-1).narrow(0, 0, 1);
        fixed (byte* address = first.bytes) return (nint)address;
    }

    public static long ByteCount(Tensor tensor) => tensor.numel() * tensor.element_size();
}
