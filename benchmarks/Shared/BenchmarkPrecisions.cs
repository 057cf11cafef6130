using RaePipeline.Abstractions;

namespace RaePipeline.Benchmarks;

/// <summary>The <c>--precision</c> option: fp32, bf16, fp16, a comma list, or <c>both</c> (fp32 then bf16).</summary>
static class BenchmarkPrecisions
{
    public static Precision[] Parse(string? text, Precision[] fallback) => text is null ? fallback
        : text.Trim().ToLowerInvariant() == "both" ? [Precision.Fp32, Precision.Bf16]
        : text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(One).ToArray();

    static Precision One(string name) =>
        Enum.GetValues<Precision>().Where(p => p.Name() == name.ToLowerInvariant()).Cast<Precision?>().FirstOrDefault()
        ?? throw new ArgumentException($"--precision: unknown '{name}' (expected fp32, bf16, fp16 or both)");
}
