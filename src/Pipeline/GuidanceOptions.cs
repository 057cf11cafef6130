using RaePipeline.FlowMatching;

namespace RaePipeline.Pipeline;

/// <summary>The pipeline's <c>guidance:</c> block (the guide denoiser of AutoGuidance is a component block inside it).</summary>
public sealed class GuidanceOptions
{
    /// <summary><c>none</c>, <c>cfg</c> (classifier-free) or <c>autoguidance</c> (with a <c>guide</c> block).</summary>
    public GuidanceMethod Method { get; set; } = GuidanceMethod.None;

    /// <summary>Guidance weight w: v = v_weak + w (v_main - v_weak). 1 = no guidance.</summary>
    public double Scale { get; set; } = 1.0;

    /// <summary>Guidance is applied where t_min ≤ t ≤ t_max (inclusive), elsewhere the conditional velocity is used.</summary>
    public double[] Interval { get; set; } = [0.0, 1.0];
}
