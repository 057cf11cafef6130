using static TorchSharp.torch;

namespace RaePipeline.Abstractions;

/// <summary>
/// The floating-point format the heavy math of a job (matmuls, linear layers, attention, convolutions) runs in. YAML
/// names: <c>fp32</c> (default), <c>bf16</c>, <c>fp16</c> (CUDA only). Parameters, optimizer state, EMA, losses,
/// normalization statistics and time embeddings stay float32 whatever the precision (see <see cref="ComputePrecision"/>).
/// </summary>
public enum Precision
{
    Fp32,
    Bf16,
    Fp16,
}

public static class Precisions
{
    /// <summary>The tensor type the precision computes in.</summary>
    public static ScalarType ScalarType(this Precision precision) => precision switch
    {
        Precision.Fp32 => TorchSharp.torch.ScalarType.Float32,
        Precision.Bf16 => TorchSharp.torch.ScalarType.BFloat16,
        Precision.Fp16 => TorchSharp.torch.ScalarType.Float16,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, null),
    };

    /// <summary>The YAML name: fp32, bf16 or fp16.</summary>
    public static string Name(this Precision precision) => precision switch
    {
        Precision.Fp32 => "fp32",
        Precision.Bf16 => "bf16",
        Precision.Fp16 => "fp16",
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, null),
    };
}
