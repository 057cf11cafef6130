using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.VisionTransformers;

/// <summary>
/// Registers modules and parameters under dotted state-dict paths (<c>attention.attention.query</c>,
/// <c>embeddings.cls_token</c>), creating the intermediate containers. This lets one class serve several checkpoint
/// families whose only difference is naming.
/// </summary>
public static class ModulePaths
{
    public static void Add(nn.Module root, string path, nn.Module module)
    {
        var (parent, name) = Parent(root, path);
        parent.register_module(name, module);
    }

    public static void Add(nn.Module root, string path, TorchSharp.Modules.Parameter parameter)
    {
        var (parent, name) = Parent(root, path);
        parent.register_parameter(name, parameter);
    }

    static (nn.Module Parent, string Name) Parent(nn.Module root, string path)
    {
        var parts = path.Split('.');
        var current = root;
        foreach (var part in parts[..^1])
        {
            var existing = current.named_children().Where(c => c.name == part).Select(c => c.module).FirstOrDefault();
            if (existing == null)
            {
                existing = new ModuleGroup(part);
                current.register_module(part, existing);
            }
            current = existing;
        }
        return (current, parts[^1]);
    }

    /// <summary>A module that only holds named children, like an attribute-only <c>nn.Module</c> in PyTorch.</summary>
    sealed class ModuleGroup(string name) : nn.Module(name);
}
