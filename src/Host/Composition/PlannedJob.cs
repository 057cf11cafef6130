using RaePipeline.Abstractions;
using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Composition;

/// <summary>A job of a validated pipeline with its bound options and its own <c>precision</c> (null: the pipeline's).</summary>
public sealed record PlannedJob(IJob Job, object Options, YamlNode Node, Precision? Precision = null);
