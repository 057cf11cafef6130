using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Distributed.Tests;

/// <summary>x (B, 6) -> (B, 3): Linear(6, 16), GELU, Linear(16, 3) after adding a random buffer (so broadcasts must carry buffers too).</summary>
sealed class TinyRegressor : nn.Module<Tensor, Tensor>
{
    public const int Inputs = 6, Outputs = 3;

#pragma warning disable IDE0044 // registered as components: parameters, and the buffer
    Linear first = nn.Linear(Inputs, 16);
    Linear second = nn.Linear(16, Outputs);
    Tensor offset = torch.randn(Inputs);
#pragma warning restore IDE0044

    public TinyRegressor() : base(nameof(TinyRegressor)) => RegisterComponents();

    public override Tensor forward(Tensor x) => second.call(nn.functional.gelu(first.call(x + offset)));
}
