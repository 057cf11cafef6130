using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.Backbones.DiffusionTransformers;

/// <summary>
/// The PyTorch initializers the official <c>initialize_weights</c> uses, drawing from an explicit generator so a fresh
/// model depends only on the pipeline seed.
/// </summary>
static class SeededInit
{
    /// <summary>nn.Linear's default: kaiming-uniform (a = √5) weight and bias, both U(−1/√fan_in, 1/√fan_in).</summary>
    public static void PyTorchDefault(Linear linear, Generator generator)
    {
        double bound = 1.0 / Math.Sqrt(linear.weight!.shape[1]);
        using var noGrad = torch.no_grad();
        linear.weight.uniform_(-bound, bound, generator);
        linear.bias?.uniform_(-bound, bound, generator);
    }

    /// <summary>xavier-uniform on a (fan_out, fan_in, ...) weight viewed as 2-D; bias zero.</summary>
    public static void XavierUniform(Tensor weight, Tensor? bias, Generator generator)
    {
        long fanOut = weight.shape[0];
        long fanIn = weight.numel() / fanOut;
        double bound = Math.Sqrt(6.0 / (fanIn + fanOut));
        using var noGrad = torch.no_grad();
        weight.uniform_(-bound, bound, generator);
        bias?.zero_();
    }

    public static void Normal(Tensor tensor, double std, Generator generator)
    {
        using var noGrad = torch.no_grad();
        tensor.normal_(0, std, generator);
    }

    public static void Zero(Linear linear)
    {
        using var noGrad = torch.no_grad();
        linear.weight!.zero_();
        linear.bias?.zero_();
    }

    public static void CopyInto(Tensor target, Tensor source)
    {
        using var noGrad = torch.no_grad();
        target.copy_(source);
    }
}
