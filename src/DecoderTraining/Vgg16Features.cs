using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>
/// The convolutional part of torchvision's VGG16 up to relu5_3 (<c>features.0</c> .. <c>features.29</c>), with
/// torchvision's state-dict keys (<c>features.N.weight/bias</c>), returning the five activations LPIPS compares.
/// </summary>
public sealed class Vgg16Features : nn.Module<Tensor, Tensor[]>
{
    /// <summary>Output channels of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.</summary>
    public static IReadOnlyList<int> TapChannels { get; } = [64, 128, 256, 512, 512];

    /// <summary>Index (inclusive) of the last layer of each of the five slices in <c>features</c>.</summary>
    static readonly int[] TapIndices = [3, 8, 15, 22, 29];

    readonly Sequential features;

    public Vgg16Features() : base(nameof(Vgg16Features))
    {
        // Channels per conv layer; "M" = 2x2 max pool, as in torchvision's configuration "D" without the last pool.
        object[] layout = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512];
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        long inChannels = 3;
        foreach (var item in layout)
        {
            if (item is string)
            {
                layers.Add(($"{layers.Count}", nn.MaxPool2d(2, 2)));
                continue;
            }
            long outChannels = (int)item;
            layers.Add(($"{layers.Count}", nn.Conv2d(inChannels, outChannels, 3, padding: 1)));
            layers.Add(($"{layers.Count}", nn.ReLU()));
            inChannels = outChannels;
        }
        features = nn.Sequential(layers);
        RegisterComponents();
    }

    /// <summary>x: (B, 3, H, W), already passed through the LPIPS scaling layer -> five maps (B, C_k, H_k, W_k).</summary>
    public override Tensor[] forward(Tensor x)
    {
        var taps = new Tensor[TapIndices.Length];
        int tap = 0;
        var h = x;
        int index = 0;
        foreach (var layer in features.children())
        {
            h = ((nn.Module<Tensor, Tensor>)layer).call(h);
            if (index == TapIndices[tap]) taps[tap++] = h;
            index++;
        }
        return taps;
    }
}
