using System.Collections;
using System.Collections.Specialized;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace RaePipeline.Weights;

/// <summary>
/// Writes a module's state dict (its keys are the reference implementation's keys) in the formats the official
/// PyTorch code loads: safetensors, a <c>torch.save</c> raw state dict (<c>.pt</c>), or an official training
/// checkpoint <c>{"model", "ema", "step", "epoch"}</c> whose <c>ema</c> entry <c>instantiate_from_config</c> loads.
/// Tensors are written from the CPU as stored (no dtype change); files appear complete or not at all.
/// </summary>
public static class TorchCheckpointWriter
{
    public static void WriteSafeTensors(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var scope = NewDisposeScope();
        SafeTensorsFile.Write(path, StateDict(module), metadata);
    }

    /// <summary>A raw state dict as <c>torch.save(model.state_dict(), path)</c> would write it (zip + pickle).</summary>
    public static void WritePyTorch(nn.Module module, string path)
    {
        using var scope = NewDisposeScope();
        Pickle(path, ToPickleDictionary(StateDict(module)));
    }

    /// <summary>The official stage-2 training-checkpoint layout (without optimizer and scheduler state).</summary>
    public static void WriteTrainingCheckpoint(string path, nn.Module model, nn.Module ema, long step, int epoch)
    {
        using var scope = NewDisposeScope();
        var checkpoint = new OrderedDictionary
        {
            ["step"] = step,
            ["epoch"] = epoch,
            ["model"] = ToPickleDictionary(StateDict(model)),
            ["ema"] = ToPickleDictionary(StateDict(ema)),
        };
        Pickle(path, checkpoint);
    }

    // state-dict tensors detached, on the CPU, contiguous and starting at their storage's first element (the pickler
    // writes a tensor's own bytes as its whole storage)
    static List<KeyValuePair<string, Tensor>> StateDict(nn.Module module) =>
        module.state_dict().Select(kv =>
        {
            var tensor = kv.Value.detach().cpu().contiguous();
            if (tensor.storage_offset() != 0) tensor = tensor.clone();
            return new KeyValuePair<string, Tensor>(kv.Key, tensor);
        }).ToList();

    static OrderedDictionary ToPickleDictionary(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var dictionary = new OrderedDictionary();
        foreach (var (key, tensor) in tensors) dictionary[key] = tensor;
        return dictionary;
    }

    static void Pickle(string path, IDictionary content) =>
        AtomicFile.Write(path, stream => PyTorchPickler.PickleStateDict(stream, content, leaveOpen: true));
}
