namespace RaePipeline.Distributed;

/// <summary>How <see cref="ProcessGroup.AllReduce"/> combines the ranks' tensors, element by element.</summary>
public enum ReduceOp
{
    Sum,

    /// <summary>The sum divided by the world size (floating-point tensors only).</summary>
    Mean,

    Max,
    Min,
}
