using TorchSharp;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace RaePipeline.Testing;

/// <summary>
/// The xunit test framework of test assemblies that run many tiny models (training, decoder training, samplers): it
/// pins libtorch to one intra-op thread before any test runs. Their many small ops gain nothing from a second thread,
/// while two threads on a busy 2-core machine slowed them tenfold and more (measured: a tiny decoder step 1.2 s vs
/// 0.14 s, an Euler-Maruyama test 74 s vs 4 s). A test project opts in with
/// <c>&lt;SingleThreadedTorch&gt;true&lt;/SingleThreadedTorch&gt;</c> (tests/Directory.Build.targets).
/// </summary>
public sealed class SingleThreadedTorch : XunitTestFramework
{
    public SingleThreadedTorch(IMessageSink messageSink) : base(messageSink) => torch.set_num_threads(1);
}
