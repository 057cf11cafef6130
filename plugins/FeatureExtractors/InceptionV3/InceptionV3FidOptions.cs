namespace RaePipeline.FeatureExtractors.InceptionV3;

/// <summary>Options of <c>inception-v3-fid</c>: none; the network is fixed, and its weights come from the component's <c>weights</c> file.</summary>
public sealed class InceptionV3FidOptions
{
}
