using RaePipeline.Host.Configuration;
using RaePipeline.Latents;
using TorchSharp;

namespace RaePipeline.Host.Tests;

/// <summary>
/// `rae validate` catches, without heavy work, what used to fail only when a job started (after hours of the jobs
/// before it): each case exits 2 with a message naming the file, key or value.
/// </summary>
public class ValidateCatchesEarlyTests : IDisposable
{
    readonly HostFixture host = new();

    public void Dispose() => host.Dispose();

    [Fact]
    public void Validate_refuses_each_late_failure_with_its_message_and_exit_2()
    {
        var classes = Path.Combine(host.Folder, "four-classes");
        foreach (var name in new[] { "a", "b", "c", "d" }) Directory.CreateDirectory(Path.Combine(classes, name));
        var wrongStatistics = Path.Combine(host.Folder, "stat.pt");
        using (var statistics = new LatentStatistics(null, torch.ones(8, 2, 2))) statistics.Save(wrongStatistics);
        string Data(string data) => TinyPipelines.Components.Replace("data: { source: synthetic, image_size: 16, num_classes: 3, images_per_class: 2 }", data);
        var missingReference = Path.Combine(host.Folder, "reference.npz");

        var cases = new (string Yaml, string[] Arguments, string Message)[]
        {
            (Data("data: { source: synthetic, image_size: 7 }") + "jobs:\n  - stats: {}\n", [],
                "data.image_size: synthetic images are at least 8 pixels wide, got 7"),
            (Data("data: { source: synthetic, image_size: 12, num_classes: 3 }") + "jobs:\n  - train-decoder: { steps: 1 }\n", [],
                "jobs.train-decoder: the data gives 12px images but the decoder makes 16px images; set data.image_size to 16"),
            (Data("data: { source: folder, path: no-such-folder, image_size: 16 }") + "jobs:\n  - stats: {}\n", [],
                $"data.path: data folder not found: {Path.Combine(host.Folder, "no-such-folder")}"),
            (TinyPipelines.Components + $"statistics: \"{wrongStatistics}\"\njobs:\n  - sample: {{}}\n", [],
                $"statistics file {wrongStatistics} holds statistics of shape (8, 2, 2), but encoder 'dinov2' produces latents (16, 4, 4)"),
            (Data($"data: {{ source: folder, path: \"{classes}\", image_size: 16 }}") + "jobs:\n  - train: { steps: 1 }\n", [],
                "denoiser 'dit-dh' knows 3 classes, but the data has 4"),
            (TinyPipelines.Components + "jobs:\n  - sample: {}\n", ["--device", "cuda"],
                "--device cuda: device: device 'cuda' was asked for, but CUDA is not available in this build or on this machine"),
            (TinyPipelines.Components + "jobs:\n  - eval: { reference: reference.npz, features: encoder }\n", [],
                $"jobs.eval.reference: reference not found: {missingReference}"),
        };
        foreach (var (yaml, arguments, message) in cases)
        {
            var path = host.Pipeline(yaml);
            var result = RaeCli.Run(["validate", path, .. arguments]);
            result.Exit.Should().Be(2, result.ToString());
            result.Error.Should().Contain(message, result.ToString());
        }
    }

    [Fact]
    public void A_components_own_validation_error_is_located_at_the_option_it_names()
    {
        InjectedComponents.Register(host.Runner.Catalog);
        var path = host.Pipeline(TinyPipelines.Components.Replace("name: euler\n  options: { num_steps: 2 }", $"name: {InjectedComponents.SamplerName}\n  options: {{ num_steps: 0 }}"));
        var problems = FluentActions.Invoking(() => host.Runner.Plan(path, [])).Should().Throw<PipelineConfigurationException>().Which.Problems;
        var problem = problems.Should().ContainSingle().Subject;
        problem.Message.Should().Be("sampler 'injected': num_steps: must be at least 1, got 0");
        var lines = File.ReadAllLines(path);
        int line = Array.FindIndex(lines, l => l.Contains("num_steps: 0"));
        (problem.Line, problem.Column).Should().Be((line + 1, lines[line].IndexOf("0 }", StringComparison.Ordinal) + 1));
    }
}
