using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Data;
using RaePipeline.Metrics;
using RaePipeline.Pipeline;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>
/// <c>eval</c>'s linear probe of class-conditional samples: fitted on the yardstick's features of the pipeline's
/// labelled <c>data</c> (reusing them when the reference is the data), applied to the samples with the labels they
/// were generated for (<c>arr_1</c> of their npz). Records <c>{prefix}/probe/{yardstick}/accuracy</c> and
/// <c>{prefix}/probe/{yardstick}/ceiling</c> (accuracy on held-out real images).
/// </summary>
static class ProbeEvaluation
{
    public static void Run(JobContext context, EvalOptions options, IFeatureExtractor extractor, string yardstick,
        ImageSource samples, string samplesPath, FeatureSet sampleFeatures, FeatureSet? reference, ILogger log)
    {
        using var allLabels = NpzLabels.Read(samplesPath, samples.Count);
        if (allLabels is null)
        {
            log.LogInformation("eval: no linear probe: {Samples} carries no class labels ({Array} of an npz)", samples.Description, NpzLabels.ArrayName);
            return;
        }
        if (reference?.Labels is null && context.Data.IsEmpty)
        {
            log.LogInformation("eval: no linear probe: the pipeline has no 'data' block with the real labelled images to fit it on");
            return;
        }
        using var scope = NewDisposeScope();
        using var real = reference?.Labels is null
            ? FeatureSet.Compute(extractor, new DatasetImageSource(Datasets.Open(context.Data, context.PipelineDirectory, context.Seed)),
                options.BatchSize, options.Limit, withProbabilities: false, context.Progress, $"{options.Prefix} probe data", context.Cancellation)
            : null;
        var realSet = real ?? reference!;
        var sampleLabels = allLabels[..(int)sampleFeatures.Count];
        var probe = options.Probe;
        using var subsetGenerator = new Generator(SeedDerivation.Derive(context.Seed, "probe-subset"));
        var rows = realSet.Count <= probe.MaxImages ? null : randperm(realSet.Count, generator: subsetGenerator)[..probe.MaxImages];
        if (rows is not null)
            log.LogInformation("eval: the linear probe uses {Count} of the {Total} real images (probe.max_images)", probe.MaxImages, realSet.Count);
        var subsetFeatures = rows is null ? null : realSet.Features.index_select(0, rows);
        var subsetLabels = rows is null ? null : realSet.Labels!.index_select(0, rows);
        var result = ProbeAccuracy.Compute(subsetFeatures ?? realSet.Features, subsetLabels ?? realSet.Labels!, sampleFeatures.Features, sampleLabels,
            probe.HeldOut, probe.L2, new Lbfgs { MaxIterations = probe.MaxIterations },
            SeedDerivation.Derive(context.Seed, "probe-split"));
        if (!result.Converged)
            log.LogWarning("eval: the linear probe stopped at its cap of {Iterations} L-BFGS iterations before converging (probe.max_iterations)", result.Iterations);
        context.Results.Record($"{options.Prefix}/probe/{yardstick}/accuracy", result.Accuracy);
        context.Results.Record($"{options.Prefix}/probe/{yardstick}/ceiling", result.Ceiling);
        log.LogInformation(
            "eval: linear probe on {Yardstick} features: {Accuracy:P1} of {Samples} samples in their class (ceiling {Ceiling:P1} on {HeldOut} held-out real images, chance {Chance:P1}; fitted on {Fit} real images of {Classes} classes in {Iterations} L-BFGS iterations)",
            yardstick, result.Accuracy, result.SampleCount, result.Ceiling, result.HeldOutCount, result.Chance, result.FitCount,
            result.NumClasses, result.Iterations);
    }
}
