using System.Runtime.CompilerServices;

namespace RaePipeline.Samplers.Tests;

static class SingleThreadedTorch
{
    /// <summary>
    /// These tests run many small tensor operations (a few hundred kB each). On a shared, loaded machine libtorch's
    /// intra-op threads make them 10-20x slower (an Euler-Maruyama test: 74 s with 2 threads, 4 s with 1), so the
    /// whole test assembly runs torch on one thread.
    /// </summary>
    [ModuleInitializer]
    internal static void Initialize() => TorchSharp.torch.set_num_threads(1);
}
