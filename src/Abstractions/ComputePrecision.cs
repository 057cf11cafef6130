using static TorchSharp.torch;

namespace RaePipeline.Abstractions;

/// <summary>
/// The compute precision of the current thread: what autocast is in PyTorch, which TorchSharp does not have. A job
/// opens a scope with <see cref="Use"/>; the building blocks that do the heavy math (linear layers, attention,
/// convolutions) ask it what to compute in: <see cref="Input"/> casts an activation, <see cref="Weight"/> a
/// parameter, <see cref="Linear"/> does both. Parameters stay float32 (the master weights): when training, the cast
/// is part of the graph, so gradients reach the float32 parameters in float32. Normalization statistics, softmax
/// accumulation, time embeddings, losses, the optimizer and the EMA stay float32; a component returns float32 from
/// its role's methods whatever the precision.
/// <para>
/// Outside every scope, and inside an fp32 scope, each method returns its argument itself: fp32 code paths run the
/// same operations as code that never heard of precision. Scopes nest (the innermost wins) and belong to the thread
/// that opened them. What the methods return belongs to the caller's dispose scope, except cached weights, which
/// belong to the precision scope: never dispose a result of <see cref="Weight"/>.
/// </para>
/// </summary>
public sealed class ComputePrecision : IDisposable
{
    [ThreadStatic] static ComputePrecision? current;

    readonly ComputePrecision? outer;
    readonly ScalarType type;
    // Inference scopes keep one cast copy per parameter (weights do not change while an inference job runs).
    readonly Dictionary<Tensor, Tensor>? weights;
    bool disposed;

    ComputePrecision(Precision precision, bool cacheWeights)
    {
        Precision = precision;
        type = precision.ScalarType();
        if (cacheWeights && precision != Precision.Fp32) weights = new(ReferenceEqualityComparer.Instance);
        outer = current;
        current = this;
    }

    public Precision Precision { get; }

    /// <summary>The precision of the innermost open scope of this thread; fp32 outside every scope.</summary>
    public static Precision Current => current?.Precision ?? Precision.Fp32;

    /// <summary>True inside a bf16 or fp16 scope.</summary>
    public static bool IsReduced => Current != Precision.Fp32;

    /// <summary>The tensor type heavy math runs in now.</summary>
    public static ScalarType ComputeType => Current.ScalarType();

    /// <summary>
    /// Opens a scope on this thread until disposed. <paramref name="cacheWeights"/>: the weights will not change
    /// while the scope is open (inference jobs), so each parameter is cast once and reused; parameters that need a
    /// gradient are still cast per call while gradients are recorded.
    /// </summary>
    public static ComputePrecision Use(Precision precision, bool cacheWeights = false) => new(precision, cacheWeights);

    /// <summary>A floating activation in the compute type (itself when it already is, or outside reduced scopes).</summary>
    public static Tensor Input(Tensor x)
    {
        var scope = current;
        if (scope is null || scope.Precision == Precision.Fp32 || x.dtype == scope.type || !x.is_floating_point()) return x;
        return x.to(scope.type);
    }

    /// <summary>A parameter or buffer in the compute type: itself at fp32; else cast (or the scope's cached copy).</summary>
    public static Tensor Weight(Tensor parameter)
    {
        var scope = current;
        if (scope is null || scope.Precision == Precision.Fp32 || parameter.dtype == scope.type || !parameter.is_floating_point())
            return parameter;
        if (scope.weights is null || (parameter.requires_grad && is_grad_enabled())) return parameter.to(scope.type);
        if (!scope.weights.TryGetValue(parameter, out var cached))
        {
            using (no_grad())
                cached = parameter.to(scope.type).DetachFromDisposeScope();
            scope.weights[parameter] = cached;
        }
        return cached;
    }

    /// <summary>x (..., in) -> x Wᵀ + b (..., out) in the compute type (the result stays in it).</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias) =>
        nn.functional.linear(Input(x), Weight(weight), bias is null ? null : Weight(bias));

    /// <summary>A Linear layer's forward in the compute type: the same operation as <c>linear.forward(x)</c> at fp32.</summary>
    public static Tensor Linear(TorchSharp.Modules.Linear linear, Tensor x) => Linear(x, linear.weight!, linear.bias);

    /// <summary>Back to float32 (a component's output), or the tensor itself when it is float32 already.</summary>
    public static Tensor Float32(Tensor x) => x.dtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (!ReferenceEquals(current, this))
            throw new InvalidOperationException("compute-precision scopes must be closed in the reverse order of opening, on the thread that opened them");
        current = outer;
        if (weights is null) return;
        foreach (var cached in weights.Values) cached.Dispose();
        weights.Clear();
    }
}
