using RaePipeline.VisionTransformers;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoder.Tests;

/// <summary>Compares every intermediate of an encode with an encoder case of the kit (dinov2, siglip, mae).</summary>
public static class EncoderCaseAssert
{
    /// <param name="positions">The position table the encoder used at the case's grid.</param>
    /// <param name="positionsName">Its name in the case: <c>position_embeddings_interpolated</c> or <c>position_embeddings_used</c>.</param>
    public static void TraceMatches(EncoderTrace trace, Tensor positions, ParityCase c, string positionsName,
        double latentTolerance = 1e-4)
    {
        TensorAssert.Close(trace.ImagesResized, c["images_resized"], what: "images_resized");
        TensorAssert.Close(trace.PixelValues, c["pixel_values"], what: "pixel_values");
        TensorAssert.Close(positions, c[positionsName], what: positionsName);
        TensorAssert.Close(trace.TokensBeforeFinalNorm, c["tokens_before_final_norm"], what: "tokens_before_final_norm");
        TensorAssert.Close(trace.Latents, c["latents"], latentTolerance, latentTolerance, "latents");
    }
}
