using Microsoft.Extensions.Logging;
using RaePipeline.Abstractions;
using RaePipeline.Data;
using RaePipeline.Distributed;
using RaePipeline.Metrics;
using RaePipeline.Pipeline;
using static TorchSharp.torch;

namespace RaePipeline.Evaluation;

/// <summary>
/// <c>eval</c>: scores images (a folder, an npz, or the run's <c>samples.npz</c>) against a reference (a folder, an
/// npz of images, or an npz of <c>mu</c>/<c>sigma</c> statistics). Records <c>{prefix}/fid</c> with the
/// <c>inception-v3-fid</c> extractor, otherwise <c>{prefix}/fd_{name}</c> in that extractor's or the encoder's feature
/// space; <c>{prefix}/sfid</c> from the extractor's spatial features when it has them (mixed_6/conv for the FID
/// Inception, as ADM's evaluator; the reference from images, or its <c>mu_s</c>/<c>sigma_s</c>);
/// <c>{prefix}/kid</c> and <c>{prefix}/kid_std</c> (<c>kd_{name}</c> for other extractors) when reference images are
/// given; <c>{prefix}/is</c> when the extractor has a classifier; <c>{prefix}/precision</c> and <c>{prefix}/recall</c>
/// when reference images are given; the linear probe of class-conditional samples
/// (<c>{prefix}/probe/{name}/accuracy</c> and <c>.../ceiling</c>, see <see cref="ProbeEvaluation"/>); and the feature
/// throughput. All come from one feature pass per image set. Saves both sets' statistics as npz in the run folder
/// (<c>{prefix}/samples_statistics.npz</c>, <c>{prefix}/reference_statistics.npz</c>) for reuse as a reference.
/// Image files are read in batches (an npz through its rows), never whole, and each batch's features go to a chunk
/// (<c>{prefix}/samples.chunks/</c>, <c>{prefix}/reference.chunks/</c>) as soon as they are computed, so a killed run
/// resumes from its finished batches. Under MPI the ranks extract the features of contiguous batch ranges (reading only
/// their own images) and every rank joins the chunks, so every metric equals one process's; rank 0 writes the files.
/// As a shard of an array job (<c>--shard i/N</c>, Slurm array, Indexed Job) a process extracts its shard's features
/// only, and <c>--merge</c> joins every shard's chunks and computes the metrics, equal to one run's.
/// </summary>
public sealed class EvalJob : Job<EvalOptions>
{
    public const string FidExtractorName = "inception-v3-fid";
    /// <summary>Where the <c>sample</c> job writes its npz by default, relative to the run folder.</summary>
    public static readonly string DefaultSamplesFile = Path.Combine("samples", "samples.npz");

    /// <summary>The <c>reference</c> value that names the pipeline's <c>data</c> block.</summary>
    public const string DataReference = "data";

    /// <summary>The keys of the spatial (sFID) statistics in ADM's reference batches.</summary>
    public const string SpatialMeanKey = "mu_s", SpatialCovarianceKey = "sigma_s";

    public override string Name => "eval";

    public override string Description =>
        "FID / FD, Inception Score and precision/recall of images (folder, npz or the run's samples) against a reference";

    protected override IEnumerable<JobProblem> Validate(JobValidationContext context, EvalOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Reference))
            yield return new JobProblem("reference", "eval needs a reference: 'data' (the pipeline's data), a folder of images, an npz of images (arr_0) or an npz of statistics (mu, sigma)");
        else if (options.Reference == DataReference && context.Data.IsEmpty)
            yield return new JobProblem("reference", "reference 'data' needs a 'data' block in the pipeline");
        else if (options.Reference != DataReference && context.PipelineDirectory != null
                 && context.ResolvePath(options.Reference) is var reference && !File.Exists(reference) && !Directory.Exists(reference))
            yield return new JobProblem("reference", $"reference not found: {reference}");
        if (options.BatchSize < 1) yield return new JobProblem("batch_size", $"batch_size must be positive, got {options.BatchSize}");
        if (options.Limit < 0) yield return new JobProblem("limit", $"limit must be 0 (all) or positive, got {options.Limit}");
        if (options.IsSplitSize < 1) yield return new JobProblem("is_split_size", $"is_split_size must be positive, got {options.IsSplitSize}");
        if (options.Neighbourhood < 1) yield return new JobProblem("neighbourhood", $"neighbourhood must be positive, got {options.Neighbourhood}");
        if (string.IsNullOrWhiteSpace(options.Prefix)) yield return new JobProblem("prefix", "prefix must not be empty");
        foreach (var (key, message) in options.ShardProblems()) yield return new JobProblem(key, message);
        if (options.KidSubsets < 1) yield return new JobProblem("kid_subsets", $"kid_subsets must be positive, got {options.KidSubsets}");
        if (options.KidSubsetSize < 2) yield return new JobProblem("kid_subset_size", $"kid_subset_size must be at least 2, got {options.KidSubsetSize}");
        if (!(options.Probe.HeldOut > 0 && options.Probe.HeldOut < 1)) yield return new JobProblem("probe.held_out", $"probe.held_out must lie between 0 and 1, got {options.Probe.HeldOut}");
        if (!(options.Probe.L2 >= 0)) yield return new JobProblem("probe.l2", $"probe.l2 must be 0 or positive, got {options.Probe.L2}");
        if (options.Probe.MaxImages < 4) yield return new JobProblem("probe.max_images", $"probe.max_images must be at least 4, got {options.Probe.MaxImages}");
        if (options.Probe.MaxIterations < 1) yield return new JobProblem("probe.max_iterations", $"probe.max_iterations must be positive, got {options.Probe.MaxIterations}");
        switch (options.Features)
        {
            case "auto":
                if (!context.Has(PipelineRole.FeatureExtractor) && !context.Has(PipelineRole.Encoder))
                    yield return new JobProblem("features", "eval needs a 'feature_extractor' block (FID) or an 'encoder' block (FD in its feature space)");
                break;
            case "feature_extractor":
                foreach (var problem in context.Require(Name, PipelineRole.FeatureExtractor)) yield return problem;
                break;
            case "encoder":
                foreach (var problem in context.Require(Name, PipelineRole.Encoder)) yield return problem;
                break;
            default:
                yield return new JobProblem("features", $"features must be 'auto', 'feature_extractor' or 'encoder', got '{options.Features}'");
                break;
        }
    }

    protected override void Run(JobContext context, EvalOptions options)
    {
        using var precision = context.UsePrecision(training: false);
        var log = context.Logger(Name);
        bool useExtractor = options.Features == "feature_extractor" ||
                            (options.Features == "auto" && context.Components.Has(PipelineRole.FeatureExtractor));
        var role = useExtractor ? PipelineRole.FeatureExtractor : PipelineRole.Encoder;
        var componentName = context.Components.NameOf(role);
        using var encoderFeatures = useExtractor ? null : new EncoderFeatureExtractor(context.Components.Encoder);
        IFeatureExtractor extractor = useExtractor ? context.Components.FeatureExtractor : encoderFeatures!;
        bool isFid = useExtractor && componentName == FidExtractorName;
        var distanceName = isFid ? "fid" : $"fd_{componentName}";
        string Metric(string name) => $"{options.Prefix}/{name}";

        var samplesPath = string.IsNullOrWhiteSpace(options.Samples)
            ? Path.Combine(context.RunDirectory, DefaultSamplesFile)
            : InRunOrPipelineFolder(context, options.Samples);
        if (string.IsNullOrWhiteSpace(options.Samples) && !File.Exists(samplesPath))
            throw new FileNotFoundException(
                $"eval: no 'samples' option and no {DefaultSamplesFile} in the run folder {context.RunDirectory} (run a 'sample' job first or set samples: to a folder or npz)",
                samplesPath);
        var samples = ImageSource.Open(samplesPath);
        var referencePath = context.ResolvePath(options.Reference);
        log.LogInformation("eval: {Samples} against {Reference}, features: {Role} '{Name}' ({Dimension})",
            samples.Description, referencePath, role.Key(), componentName, extractor.FeatureDimension);

        var selection = options.Merge ? ShardSelection.Whole : options.Selection();
        FeatureChunks Chunks(string set, ImageSource source, bool withProbabilities)
        {
            using var fingerprint = new RunFingerprint()
                .Add($"eval {set}: {source.Identity}, limit {options.Limit}, batch {options.BatchSize}, probabilities {withProbabilities}, " +
                     $"features {role.Key()} '{componentName}' ({extractor.FeatureDimension}), precision {context.Precision}")
                .AddComponent(useExtractor ? context.Components.FeatureExtractor : context.Components.Encoder);
            return new FeatureChunks(new ChunkStore(context.RunPath(options.Prefix, $"{set}.chunks"), fingerprint.Finish()),
                selection, context.ProcessGroup, options.Merge);
        }

        using var sampleFeatures = FeatureSet.Compute(extractor, samples, options.BatchSize, options.Limit,
            options.InceptionScore, context.Progress, $"{options.Prefix} samples", context.Cancellation, Chunks("samples", samples, options.InceptionScore), log);
        var loaded = LoadReference(referencePath, extractor, options, isFid, context, log, Chunks);
        if (sampleFeatures is null || loaded is null)
        {
            loaded?.Dispose();
            log.LogInformation("eval: {Shard} done: its features are in {Folder}; run eval with --merge once every shard is done",
                selection, context.RunPath(options.Prefix));
            return;
        }
        var reference = loaded;
        using var sampleStatistics = GaussianStatistics.FromFeatures(sampleFeatures.Features);
        if (context.ProcessGroup.IsMain) sampleStatistics.Save(context.RunPath(options.Prefix, "samples_statistics.npz"));

        try
        {
            if (reference.Statistics.Dimension != extractor.FeatureDimension)
                throw new InvalidDataException(
                    $"eval: the reference statistics in {referencePath} are {reference.Statistics.Dimension}-dimensional, but {role.Key()} '{componentName}' gives {extractor.FeatureDimension}-dimensional features (statistics from another feature extractor?)");
            var distance = FrechetDistance.Compute(sampleStatistics, reference.Statistics);
            if (distance.UsedEpsOffset)
                log.LogWarning("eval: the covariance product is singular (constant features); added {Eps} to the diagonals as the ADM evaluator does", FrechetDistance.DefaultEps);
            context.Results.Record(Metric(distanceName), distance.Distance);
            log.LogInformation("eval: {Metric} = {Value:F4} ({Samples} samples, {Reference} reference)",
                distanceName, distance.Distance, sampleFeatures.Count, reference.Count);

            if (sampleFeatures.Spatial is { } sampleSpatial)
            {
                using var spatialStatistics = GaussianStatistics.FromFeatures(sampleSpatial);
                using var referenceSpatial = reference.Images?.Spatial is { } spatial ? GaussianStatistics.FromFeatures(spatial)
                    : GaussianStatistics.TryLoad(referencePath, SpatialMeanKey, SpatialCovarianceKey);
                if (referenceSpatial is null)
                    log.LogInformation("eval: no sFID: the reference {Reference} has neither images nor spatial statistics (mu_s, sigma_s)", referencePath);
                else
                {
                    var spatialName = isFid ? "sfid" : $"sfd_{componentName}";
                    var sfid = FrechetDistance.Compute(spatialStatistics, referenceSpatial).Distance;
                    context.Results.Record(Metric(spatialName), sfid);
                    log.LogInformation("eval: {Metric} = {Value:F4}", spatialName, sfid);
                }
            }

            if (reference.Features is { } kidReference)
            {
                var kidName = isFid ? "kid" : $"kd_{componentName}";
                var kid = KernelInceptionDistance.Compute(sampleFeatures.Features, kidReference, options.KidSubsets, options.KidSubsetSize, context.Seed);
                context.Results.Record(Metric(kidName), kid.Mean);
                context.Results.Record(Metric(kidName + "_std"), kid.Std);
                log.LogInformation("eval: {Metric} = {Value:E4} ± {Std:E2} ({Subsets} subsets of {Size})", kidName, kid.Mean, kid.Std, kid.Subsets, kid.SubsetSize);
            }

            if (options.InceptionScore && sampleFeatures.Probabilities is { } probabilities)
            {
                var score = Metrics.InceptionScore.Compute(probabilities, options.IsSplitSize);
                context.Results.Record(Metric("is"), score.Mean);
                log.LogInformation("eval: inception score = {Value:F3} ({Splits} splits)", score.Mean, score.Splits);
            }
            else if (options.InceptionScore)
                log.LogInformation("eval: no Inception Score: {Role} '{Name}' has no classifier", role.Key(), componentName);

            if (options.PrecisionRecall && reference.Features is { } referenceFeatures)
            {
                var pr = new PrecisionRecall { Neighbourhood = options.Neighbourhood }.Compute(referenceFeatures, sampleFeatures.Features);
                context.Results.Record(Metric("precision"), pr.Precision);
                context.Results.Record(Metric("recall"), pr.Recall);
                log.LogInformation("eval: precision = {Precision:F4}, recall = {Recall:F4}", pr.Precision, pr.Recall);
            }
            else if (options.PrecisionRecall)
                log.LogInformation("eval: no precision/recall: the reference {Reference} holds statistics only", referencePath);

            if (options.Probe.Enabled)
                ProbeEvaluation.Run(context, options, extractor, componentName, samples, samplesPath, sampleFeatures, reference.Images, log);

            context.Results.Record(Metric("num_samples"), sampleFeatures.Count);
            context.Results.Record(Metric("images_per_second"), sampleFeatures.Count / Math.Max(sampleFeatures.Elapsed.TotalSeconds, 1e-9));
        }
        finally
        {
            reference.Dispose();
        }
    }

    /// <summary>The reference's statistics, and its features when it has images.</summary>
    sealed record Reference(GaussianStatistics Statistics, FeatureSet? Images) : IDisposable
    {
        public Tensor? Features => Images?.Features;
        public long? Count => Images?.Count;

        public void Dispose()
        {
            Statistics.Dispose();
            Images?.Dispose();
        }
    }

    /// <summary>A relative path names a file of this run when one exists there (e.g. another sample job's output), else one beside the pipeline file.</summary>
    static string InRunOrPipelineFolder(JobContext context, string path)
    {
        var inRun = Path.GetFullPath(Path.Combine(context.RunDirectory, path));
        return !Path.IsPathRooted(path) && (File.Exists(inRun) || Directory.Exists(inRun)) ? inRun : context.ResolvePath(path);
    }

    /// <summary>The reference: its features computed as the samples' are (null on a shard of an array job, which only writes its chunks), or its stored statistics.</summary>
    static Reference? LoadReference(string path, IFeatureExtractor extractor, EvalOptions options, bool isFid,
        JobContext context, ILogger log, Func<string, ImageSource, bool, FeatureChunks> chunks)
    {
        if (options.Reference == DataReference)
        {
            var source = new DatasetImageSource(Datasets.Open(context.Data, context.PipelineDirectory, context.Seed));
            var dataImages = FeatureSet.Compute(extractor, source, options.BatchSize, options.Limit,
                withProbabilities: false, context.Progress, $"{options.Prefix} reference", context.Cancellation, chunks("reference", source, false), log);
            if (dataImages is null) return null;
            var dataStatistics = GaussianStatistics.FromFeatures(dataImages.Features);
            if (context.ProcessGroup.IsMain) dataStatistics.Save(context.RunPath(options.Prefix, "reference_statistics.npz"));
            return new Reference(dataStatistics, dataImages);
        }
        bool isNpz = File.Exists(path) && path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase);
        bool hasStatistics = isNpz && GaussianStatistics.IsStatisticsFile(path);
        bool hasImages = Directory.Exists(path) || (isNpz && NpzImageSource.HasImages(path));
        if (!hasImages && !hasStatistics)
            throw new InvalidDataException($"eval: the reference {path} is neither a folder of images nor an npz with images (arr_0) or statistics (mu, sigma)");

        // Stored mu/sigma are Inception pool3 statistics (ADM reference batches): used only for FID, as ADM does.
        bool useStoredStatistics = hasStatistics && (isFid || !hasImages);
        FeatureSet? images = null;
        if (hasImages && (!useStoredStatistics || options.PrecisionRecall))
        {
            var source = ImageSource.Open(path);
            images = FeatureSet.Compute(extractor, source, options.BatchSize, options.Limit,
                withProbabilities: false, context.Progress, $"{options.Prefix} reference", context.Cancellation, chunks("reference", source, false), log);
            if (images is null) return null;
        }
        GaussianStatistics statistics;
        if (useStoredStatistics)
        {
            statistics = GaussianStatistics.Load(path);
            log.LogInformation("eval: reference statistics read from {Path}", path);
        }
        else
        {
            statistics = GaussianStatistics.FromFeatures(images!.Features);
            if (context.ProcessGroup.IsMain) statistics.Save(context.RunPath(options.Prefix, "reference_statistics.npz"));
        }
        return new Reference(statistics, images);
    }
}
