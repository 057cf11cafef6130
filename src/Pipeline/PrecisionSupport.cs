using RaePipeline.Abstractions;

namespace RaePipeline.Pipeline;

/// <summary>Where each <see cref="Precision"/> can run, and how well, for validation messages.</summary>
public static class PrecisionSupport
{
    /// <summary>Why <paramref name="precision"/> cannot run on the device, or null when it can.</summary>
    public static string? Refusal(Precision precision, bool onCuda) =>
        precision == Precision.Fp16 && !onCuda
            ? "fp16 runs on CUDA only: libtorch has no fast half-precision kernels for CPUs (a 2048^3 fp16 matmul " +
              "runs at about 0.4 GFLOP/s on this project's CPUs, hundreds of times slower than fp32); use bf16 on CPU"
            : null;

    /// <summary>A warning when <paramref name="precision"/> will run but slowly, or null.</summary>
    public static string? Warning(Precision precision, bool onCuda) =>
        precision == Precision.Bf16 && !onCuda && CpuHasBf16Instructions == false
            ? "bf16 on this CPU: it has no bf16 dot-product instructions (AVX512_BF16 or AMX), so libtorch's bf16 " +
              "matmuls fall back to slow generic code and run far slower than fp32; bf16 pays off on CPUs with " +
              "AVX512_BF16/AMX and on GPUs"
            : null;

    /// <summary>
    /// Whether this CPU has the bf16 dot-product instructions libtorch's oneDNN kernels use (x86 AVX512_BF16 or
    /// AMX-BF16, ARM BF16), read from /proc/cpuinfo; null where that cannot be told (not Linux).
    /// </summary>
    public static bool? CpuHasBf16Instructions { get; } = ReadCpuFlags() is { } flags
        ? flags.Overlaps(["avx512_bf16", "amx_bf16", "bf16"])
        : null;

    static HashSet<string>? ReadCpuFlags()
    {
        const string cpuInfo = "/proc/cpuinfo";
        if (!OperatingSystem.IsLinux() || !File.Exists(cpuInfo)) return null;
        try
        {
            var line = File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)
                                                                   || l.StartsWith("Features", StringComparison.Ordinal));
            return line is null ? null : line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
