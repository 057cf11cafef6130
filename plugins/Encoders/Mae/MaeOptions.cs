using RaePipeline.VisionTransformers;

namespace RaePipeline.Encoders.Mae;

/// <summary>Options of the 'mae' encoder; the architecture options apply only without weights.</summary>
public sealed class MaeOptions : VisionEncoderOptions;
