using RaePipeline.Host;
using RaePipeline.Pipeline;

namespace RaePipeline.Pipelines.Tests;

/// <summary>Runs the <c>rae</c> command in-process, as a user would from the shell, and a temp folder per test.</summary>
public sealed class Rae : IDisposable
{
    public Rae()
    {
        Folder = Path.Combine(Path.GetTempPath(), "rae-pipelines-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    public string Write(string name, string text)
    {
        var path = Path.Combine(Folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Runs <c>rae args...</c>; fails the test with the error output when the exit code is not 0.</summary>
    public string Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = RaeCommand.Run([args[0], "-v", .. args[1..]], output, error, ProgressReporter.Silent, _ => { });
        exit.Should().Be(0, $"rae {string.Join(' ', args)} failed:\n{error}\n{output}");
        return output.ToString();
    }

    /// <summary>YAML blocks of a tiny randomly initialized DINOv2 encoder (16 px, 4x4x16 latents) and DiT^DH of 3 classes.</summary>
    public const string TinyEncoderAndDenoiser = """
        encoder:
          name: dinov2
          options: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, mlp_ratio: 2, patch_size: 4, image_size: 16, num_register_tokens: 4 }
        denoiser:
          name: dit-dh
          options: { hidden_size: [16, 24], depth: [1, 1], num_heads: [2, 2], num_classes: 3 }
        """;

    /// <summary>A path for YAML: forward slashes, quoted.</summary>
    public static string Yaml(string path) => "\"" + path.Replace('\\', '/') + "\"";

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
