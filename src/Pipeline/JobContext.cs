using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Distributed;
using TorchSharp;

namespace RaePipeline.Pipeline;

/// <summary>Everything a job runs with.</summary>
public sealed class JobContext
{
    public required IPipelineComponents Components { get; init; }

    public required torch.Device Device { get; init; }

    /// <summary>The pipeline's seed; jobs derive their generators from it so runs repeat exactly.</summary>
    public required long Seed { get; init; }

    /// <summary>The run folder (created): checkpoints, samples, grids, logs, metrics.json.</summary>
    public required string RunDirectory { get; init; }

    /// <summary>Folder of the pipeline file; relative paths in options resolve against it.</summary>
    public required string PipelineDirectory { get; init; }

    public required DataOptions Data { get; init; }

    public required ILoggerFactory LoggerFactory { get; init; }

    public required ProgressReporter Progress { get; init; }

    public required RunResults Results { get; init; }

    /// <summary>Runs other pipelines (for <c>compare</c>).</summary>
    public required IPipelineRunner Runner { get; init; }

    public CancellationToken Cancellation { get; init; }

    /// <summary>
    /// The processes this run is spread over (one without MPI): rank, world size, collectives. Only the main rank
    /// (<see cref="ProcessGroup.IsMain"/>) writes the run folder's logs, results and outputs.
    /// </summary>
    public ProcessGroup ProcessGroup { get; init; } = ProcessGroup.Single;
    /// <summary>The job's compute precision: its block's <c>precision</c>, else the pipeline's (set by the runner per job).</summary>
    public Precision Precision { get; set; } = Precision.Fp32;

    /// <summary>
    /// Opens the job's compute-precision scope on this thread (close it when the job's heavy work ends).
    /// <paramref name="training"/>: weights change while it is open, so nothing is cached; otherwise each weight is
    /// cast to the compute type once. fp16 training is refused: it needs loss scaling, which is not implemented.
    /// </summary>
    public ComputePrecision UsePrecision(bool training) =>
        training && Precision == Precision.Fp16
            ? throw new InvalidOperationException(
                "precision fp16 cannot train: fp16 gradients underflow without loss scaling, which RaePipeline does not " +
                "implement; train in bf16 (same speed on GPUs that have it) or fp32, and sample in fp16 if you like")
            : ComputePrecision.Use(Precision, cacheWeights: !training);

    public ILogger Logger(string category) => LoggerFactory.CreateLogger(category);

    public string ResolvePath(string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(PipelineDirectory, path));

    /// <summary>A path inside the run folder (its parent folders are created).</summary>
    public string RunPath(params string[] parts)
    {
        var path = Path.Combine([RunDirectory, .. parts]);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }
}
