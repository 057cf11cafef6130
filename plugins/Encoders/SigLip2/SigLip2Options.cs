using RaePipeline.VisionTransformers;

namespace RaePipeline.Encoders.SigLip2;

/// <summary>Options of the 'siglip2' encoder; the architecture options apply only without weights.</summary>
public sealed class SigLip2Options : VisionEncoderOptions;
