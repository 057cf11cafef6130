using RaePipeline.VisionTransformers;

namespace RaePipeline.Encoders.DinoV2;

/// <summary>Options of the 'dinov2' encoder; the architecture options apply only without weights.</summary>
public sealed class DinoV2Options : VisionEncoderOptions
{
    /// <summary>Register tokens of a randomly initialized encoder (the released models have 4).</summary>
    public int? NumRegisterTokens { get; set; }
}
