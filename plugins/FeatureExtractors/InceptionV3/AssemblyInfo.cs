using System.Runtime.CompilerServices;
using RaePipeline.Abstractions;
using RaePipeline.FeatureExtractors.InceptionV3;

[assembly: RaePlugin(typeof(InceptionV3Registrar))]
[assembly: InternalsVisibleTo("RaePipeline.Metrics.Tests")]
