using System.Diagnostics;
using System.Text;
using CsCheck;
using RaePipeline.Host.Configuration;

namespace RaePipeline.Host.Tests;

/// <summary>
/// Thousands of malformed and mutated pipeline files (characters inserted, deleted, lines duplicated or swapped,
/// truncated, bytes that are not UTF-8): each either plans or ends in <see cref="PipelineConfigurationException"/>
/// whose every problem names the file and a line (never another exception type).
/// </summary>
public class PipelineYamlPropertyTests : IDisposable
{
    readonly HostFixture host = new();

    public void Dispose() => host.Dispose();

    static readonly string[] Seeds =
    [
        TinyPipelines.Components + "guidance: { method: cfg, scale: 1.5, interval: [0.0, 1.0] }\njobs:\n  - stats: { batch_size: 4 }\n  - sample: { num_images: 4, classes: [0, 1] }\n  - train: { steps: 2, schedule: { type: constant, lr: 1.0e-4 } }\n",
        "device: cpu\nseed: 3\nname: \"x\"\nencoder: &e { name: dinov2, options: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, patch_size: 4, image_size: 16 } }\nfeature_extractor: *e\njobs: [ { eval: { reference: data } } ]\n",
        "# comment\ndata:\n  source: synthetic\n  image_size: 16\njobs:\n  - stats: |\n      block\n  - encode: { input: 'a b', output: \"o.safetensors\" }\n",
    ];

    static readonly string Inserts = ":-[]{}\t\n #&*!|>\"'%@`,?~=\\\u00e9\u2028\0\r";

    static Gen<byte[]> Mutated =>
        from seed in Gen.Int[0, Seeds.Length - 1].Select(i => Seeds[i])
        from edits in Gen.Int[1, 4]
        from operations in Gen.Select(Gen.Int[0, 5], Gen.Int[0, 10_000], Gen.Int[0, 10_000], Gen.Int[0, Inserts.Length - 1].Select(i => Inserts[i])).Array[edits]
        select Apply(seed, operations);

    static byte[] Apply(string text, (int Kind, int A, int B, char C)[] operations)
    {
        var bytes = Encoding.UTF8.GetBytes(text).ToList();
        foreach (var (kind, a, b, c) in operations)
        {
            if (bytes.Count == 0) break;
            int at = a % bytes.Count, length = Math.Min(b % 8 + 1, bytes.Count - at);
            var lines = Encoding.UTF8.GetString(bytes.ToArray()).Split('\n').ToList();
            switch (kind)
            {
                case 0: bytes.InsertRange(at, Encoding.UTF8.GetBytes(c.ToString())); break;
                case 1: bytes.RemoveRange(at, length); break;
                case 2: bytes = bytes.Take(at).ToList(); break;
                case 3: bytes.Insert(at, (byte)(0x80 + b % 0x80)); break; // a byte that is not UTF-8 here
                case 4:
                    lines.Insert(a % lines.Count, lines[b % lines.Count]);
                    bytes = Encoding.UTF8.GetBytes(string.Join('\n', lines)).ToList();
                    break;
                default:
                    (lines[a % lines.Count], lines[b % lines.Count]) = (lines[b % lines.Count], lines[a % lines.Count]);
                    bytes = Encoding.UTF8.GetBytes(string.Join('\n', lines)).ToList();
                    break;
            }
        }
        return bytes.ToArray();
    }

    [Fact]
    public void Every_mutated_pipeline_plans_or_ends_in_located_configuration_problems()
    {
        var file = Path.Combine(host.Folder, "mutated.yaml");
        host.Runner.LoadDefaultPlugins();
        var clock = Stopwatch.StartNew();
        int refused = 0;
        Mutated.Sample(bytes =>
        {
            try
            {
                host.Runner.Plan(PipelineYaml.Parse(file, PipelineText.Decode(file, bytes)));
            }
            catch (PipelineConfigurationException e)
            {
                Interlocked.Increment(ref refused);
                foreach (var problem in e.Problems)
                    if (problem.File != file || problem.Line < 1 || problem.Column < 1)
                        throw new Exception($"problem without file or location: {problem}\n--- input\n{Encoding.UTF8.GetString(bytes)}");
            }
        }, iter: 3000, threads: 1, print: bytes => Encoding.UTF8.GetString(bytes));
        refused.Should().BeGreaterThan(1000, "most mutations break the file");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(60), "thousands of files in bounded time (a few seconds on an idle machine)");
    }
}
