using RaePipeline.Host.Composition.Planning;
using RaePipeline.Host.Configuration;
using TorchSharp;

namespace RaePipeline.Host.Composition;

/// <summary>Turns the configured device (<c>auto</c>, <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>) into a torch device.</summary>
public static class DeviceSelection
{
    public static torch.Device Resolve(string? configured)
    {
        var text = (configured ?? "").Trim().ToLowerInvariant();
        if (text == "auto") return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (text == "cpu") return torch.CPU;
        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new ArgumentException(
                    $"device '{configured}' was asked for, but CUDA is not available in this build or on this machine " +
                    "(the default build uses TorchSharp's CPU backend: build with -p:TorchBackend=cuda on a machine with an NVIDIA driver) or use device: cpu / auto");
            if (text == "cuda") return torch.CUDA;
            if (!int.TryParse(text[5..], out var index) || index < 0 || index >= torch.cuda.device_count())
                throw new ArgumentException($"device '{configured}': there are {torch.cuda.device_count()} CUDA devices");
            return new torch.Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"unknown device '{configured}' (expected auto, cpu, cuda or cuda:N)");
    }

    /// <summary>At validation: a device this build and machine can run on (asking for CUDA loads nothing heavy).</summary>
    internal static void Check(PlanningContext planning, string? configured)
    {
        try
        {
            Resolve(configured);
        }
        catch (ArgumentException e)
        {
            planning.Problem(PipelineYaml.ValueNode(planning.Yaml.Root, "device"), $"device: {e.Message}");
        }
    }
}
