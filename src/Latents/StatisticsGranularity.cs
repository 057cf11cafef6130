namespace RaePipeline.Latents;

/// <summary>The values of the <c>stats</c> job's <c>per</c> option: what one mean and variance describe.</summary>
public static class StatisticsGranularity
{
    /// <summary>Each channel at each position (the official stat.pt).</summary>
    public const string Element = "element";

    /// <summary>Each channel over all positions.</summary>
    public const string Channel = "channel";
}
