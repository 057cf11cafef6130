using Xunit;
using static TorchSharp.torch;

namespace RaePipeline.Abstractions.Testing;

/// <summary>The kit's check that a component's call leaves no native tensor behind (the GC does not see them).</summary>
static class TensorLeaks
{
    /// <summary>Runs <paramref name="call"/> once to warm up (lazily created buffers may stay alive), then again, and
    /// fails when the second call changed the count of live tensors.</summary>
    public static void AssertNone(Func<Tensor> call, string what)
    {
        call().Dispose();
        long before = Tensor.TotalCount;
        call().Dispose();
        long after = Tensor.TotalCount;
        Assert.True(after == before,
            $"{what} left {after - before} tensors undisposed: wrap its body in torch.NewDisposeScope() and return the result with MoveToOuterDisposeScope()");
    }
}
