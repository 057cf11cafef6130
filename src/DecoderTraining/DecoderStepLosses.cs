namespace RaePipeline.DecoderTraining;

/// <summary>The numbers of one training step of <see cref="DecoderTrainer"/> (NaN where a term is not active).</summary>
public sealed record DecoderStepLosses(
    double L1, double Lpips, double Gan, double AdaptiveWeight, double Total, double DiscriminatorLoss, double DiscriminatorAccuracy)
{
    public string Status() =>
        $"l1 {L1:F4}" + (double.IsNaN(Lpips) ? "" : $" lpips {Lpips:F4}") + (double.IsNaN(Gan) ? "" : $" g {Gan:F3} λ {AdaptiveWeight:G3}") +
        (double.IsNaN(DiscriminatorLoss) ? "" : $" d {DiscriminatorLoss:F3}") + $" loss {Total:F4}";
}
