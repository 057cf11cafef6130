using System.Runtime.CompilerServices;
using TorchSharp;

namespace RaePipeline.Training.Tests;

static class SingleThreadedTorch
{
    /// <summary>
    /// The tests run tiny models whose many small ops are slowed down, not sped up, by a second thread on a shared
    /// 2-core machine (torch-notes: 2-thread results fell below 1-thread under load).
    /// </summary>
    [ModuleInitializer]
    internal static void Pin() => torch.set_num_threads(1);
}
