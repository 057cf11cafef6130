using static TorchSharp.torch;

namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// What a multistep solver carries from one step to the next within one sampling run: the tensors (B, C, h, w) its
/// earlier steps derived from their evaluations (DPM-Solver++(2M): the data prediction x0; Adams-Bashforth: the
/// velocity), newest first. They live outside the per-step dispose scopes and are disposed when dropped or when the
/// run ends.
/// </summary>
public sealed class StepHistory : IDisposable
{
    readonly List<Tensor> newestFirst = [];

    /// <summary>How many earlier steps' tensors are kept (0 on the first step).</summary>
    public int Count => newestFirst.Count;

    /// <summary>The tensor of the step <paramref name="age"/> + 1 steps back: 0 is the previous step's.</summary>
    public Tensor this[int age] => newestFirst[age];

    /// <summary>Keeps <paramref name="value"/> as the newest and disposes what falls beyond the <paramref name="keep"/> newest.</summary>
    public void Push(Tensor value, int keep)
    {
        newestFirst.Insert(0, value.DetachFromDisposeScope());
        while (newestFirst.Count > keep)
        {
            newestFirst[^1].Dispose();
            newestFirst.RemoveAt(newestFirst.Count - 1);
        }
    }

    public void Dispose()
    {
        foreach (var value in newestFirst) value.Dispose();
        newestFirst.Clear();
    }
}
