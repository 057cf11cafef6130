using RaePipeline.Pipeline;
using YamlDotNet.RepresentationModel;

namespace RaePipeline.Host.Composition;

/// <summary>A job of a validated pipeline with its bound options.</summary>
public sealed record PlannedJob(IJob Job, object Options, YamlNode Node);
