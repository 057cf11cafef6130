using System.Globalization;

namespace RaePipeline.Distributed.Benchmarks;

/// <summary>Command-line options of the benchmark (the parent passes them on to the ranks it starts).</summary>
sealed record BenchmarkOptions
{
    public int Ranks { get; init; } = 2;
    public int Rounds { get; init; } = 2;
    public int Threads { get; init; } = 1;
    public int Batch { get; init; } = 4;
    public int Steps { get; init; } = 3;
    public int Warmup { get; init; } = 1;
    public int Depth { get; init; } = 12;
    public long[] Sizes { get; init; } = [4 << 10, 256 << 10, 4 << 20, 32 << 20, 128 << 20];
    public bool Child { get; init; }

    /// <summary>Let Open MPI read large messages straight from the other process (CMA); off with --no-single-copy.</summary>
    public bool SingleCopy { get; init; } = true;

    public static BenchmarkOptions Parse(string[] args)
    {
        var options = new BenchmarkOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Number() => int.Parse(Value(), CultureInfo.InvariantCulture);
            options = args[i] switch
            {
                "--ranks" => options with { Ranks = Number() },
                "--rounds" => options with { Rounds = Number() },
                "--threads" => options with { Threads = Number() },
                "--batch" => options with { Batch = Number() },
                "--steps" => options with { Steps = Number() },
                "--warmup" => options with { Warmup = Number() },
                "--depth" => options with { Depth = Number() },
                "--sizes" => options with { Sizes = Value().Split(',').Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray() },
                "--child" => options with { Child = true },
                "--no-single-copy" => options with { SingleCopy = false },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        return options;
    }

    /// <summary>The options for a rank (the parent's, marked as a child).</summary>
    public IEnumerable<string> ChildArguments() =>
    [
        "--child", "--threads", Inv(Threads), "--batch", Inv(Batch), "--steps", Inv(Steps), "--warmup", Inv(Warmup),
        "--depth", Inv(Depth), "--sizes", string.Join(',', Sizes.Select(s => Inv(s))),
    ];

    static string Inv(long value) => value.ToString(CultureInfo.InvariantCulture);
}
