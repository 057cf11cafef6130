using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>The MLP nonlinearity of a ViT layer, named as HuggingFace configs name it (<c>hidden_act</c>).</summary>
public enum FeedForwardActivation
{
    /// <summary><c>gelu</c>: exact erf GELU.</summary>
    Gelu,

    /// <summary><c>gelu_pytorch_tanh</c> / <c>gelu_new</c>: tanh approximation.</summary>
    GeluTanh,
}

public static class FeedForwardActivations
{
    /// <summary>Maps a HF <c>hidden_act</c> value; null when the name is not supported.</summary>
    public static FeedForwardActivation? FromHuggingFace(string name) => name switch
    {
        "gelu" => FeedForwardActivation.Gelu,
        "gelu_pytorch_tanh" or "gelu_new" => FeedForwardActivation.GeluTanh,
        _ => null,
    };

    public static Tensor Apply(this FeedForwardActivation activation, Tensor x) => activation switch
    {
        FeedForwardActivation.Gelu => nn.functional.gelu(x),
        FeedForwardActivation.GeluTanh => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, null),
    };
}
