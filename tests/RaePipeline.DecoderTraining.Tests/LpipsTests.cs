using RaePipeline.Pipeline;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining.Tests;

/// <summary>One pair of LPIPS weight files (VGG16 is 59 MB of floats) shared by the tests of <see cref="LpipsTests"/>.</summary>
public sealed class LpipsWeightFiles : IDisposable
{
    readonly TemporaryFolder folder = new();

    public LpipsWeightFiles() => (Vgg, Linear) = LpipsTests.WriteWeights(folder);

    public string Vgg { get; }
    public string Linear { get; }
    public string Combine(string name) => folder.Combine(name);

    public void Dispose() => folder.Dispose();
}

public class LpipsTests(LpipsWeightFiles files) : IClassFixture<LpipsWeightFiles>
{
    /// <summary>
    /// Writes a VGG16 state dict (torchvision layout: features.N.* with He-normal (fan_out) conv weights and zero
    /// biases as torchvision initializes them, plus classifier.* that LPIPS ignores) and LPIPS linear heads
    /// (non-negative, as trained LPIPS heads are) into two files.
    /// </summary>
    internal static (string Vgg, string Linear) WriteWeights(TemporaryFolder folder, long seed = 5)
    {
        var generator = new Generator((ulong)seed);
        using var reference = new Lpips();
        var vgg = new Dictionary<string, Tensor>();
        var linear = new Dictionary<string, Tensor>();
        foreach (var (name, tensor) in reference.state_dict())
        {
            if (name.StartsWith("net."))
            {
                var key = name["net.".Length..];
                vgg[key] = key.EndsWith(".weight")
                    ? randn(tensor.shape, generator: generator) * Math.Sqrt(2.0 / (tensor.shape[0] * tensor.shape[2] * tensor.shape[3]))
                    : zeros(tensor.shape);
            }
            else linear[name] = rand(tensor.shape, generator: generator) * 0.1;
        }
        vgg["classifier.0.weight"] = randn(8, 4, generator: generator);
        var paths = (folder.Combine("vgg16.safetensors"), folder.Combine("lpips_vgg.safetensors"));
        SafeTensorsFile.Write(paths.Item1, vgg);
        SafeTensorsFile.Write(paths.Item2, linear);
        return paths;
    }

    [Fact]
    public void Loads_both_files_with_their_key_names()
    {
        var (vggPath, linearPath) = (files.Vgg, files.Linear);
        using var lpips = Lpips.Load(vggPath, linearPath);
        var state = lpips.state_dict();
        var vgg = SafeTensorsFile.Read(vggPath);
        var linear = SafeTensorsFile.Read(linearPath);
        state.Keys.Should().Contain(["net.features.0.weight", "net.features.28.bias", "lin0.model.1.weight", "lin4.model.1.weight"]);
        state["net.features.28.weight"].SameValues(vgg["features.28.weight"]).Should().BeTrue();
        state["lin3.model.1.weight"].SameValues(linear["lin3.model.1.weight"]).Should().BeTrue();
        lpips.parameters().Should().OnlyContain(p => !p.requires_grad);
    }

    [Fact]
    public void Is_zero_for_identical_images_and_grows_with_noise_strength()
    {
        var (vggPath, linearPath) = (files.Vgg, files.Linear);
        using var lpips = Lpips.Load(vggPath, linearPath);
        using var scope = NewDisposeScope();
        var generator = new Generator(11);
        // Smooth images in [-1, 1] (a blurred random field) so added noise is a real distortion.
        var images = nn.functional.avg_pool2d(rand([2, 3, 40, 40], generator: generator), 9, 1).mul(2).sub(1).clamp(-1, 1);
        var noise = randn(images.shape, generator: generator);
        using var noGrad = no_grad();
        var same = lpips.call(images, images);
        same.abs().max().item<float>().Should().BeLessThan(1e-6f);
        var distances = new[] { 0.05, 0.2, 0.6 }.Select(level => lpips.call(images, (images + noise * level).clamp(-1, 1))).ToList();
        for (int sample = 0; sample < 2; sample++)
        {
            var values = distances.Select(d => d[sample].item<float>()).ToList();
            values[0].Should().BeGreaterThan(1e-4f);
            values[1].Should().BeGreaterThan(values[0], $"sample {sample}: {string.Join(", ", values)}");
            values[2].Should().BeGreaterThan(values[1], $"sample {sample}: {string.Join(", ", values)}");
        }
    }

    [Fact]
    public void Gradient_reaches_the_images_and_not_the_weights()
    {
        var (vggPath, linearPath) = (files.Vgg, files.Linear);
        using var lpips = Lpips.Load(vggPath, linearPath);
        using var scope = NewDisposeScope();
        var target = rand([1, 3, 32, 32], generator: new Generator(2)) * 2 - 1;
        var input = (rand([1, 3, 32, 32], generator: new Generator(3)) * 2 - 1).requires_grad_();
        lpips.Loss(input, target).backward();
        input.grad!.abs().sum().item<float>().Should().BeGreaterThan(0);
        lpips.parameters().Should().OnlyContain(p => ReferenceEquals(p.grad, null));
    }

    [Fact]
    public void Missing_files_and_wrong_shapes_are_refused_with_the_file_named()
    {
        var (vggPath, linearPath) = (files.Vgg, files.Linear);
        var missing = files.Combine("nowhere.pth");
        FluentActions.Invoking(() => Lpips.Load(missing, linearPath)).Should().Throw<WeightsFormatException>()
            .Where(e => e.Message.Contains(missing) && e.Message.Contains("lpips: false"));
        FluentActions.Invoking(() => Lpips.Load(vggPath, missing)).Should().Throw<WeightsFormatException>()
            .Where(e => e.Message.Contains(missing) && e.Message.Contains("lin0"));

        var linear = SafeTensorsFile.Read(linearPath);
        linear["lin2.model.1.weight"] = zeros(1, 128, 1, 1);
        var wrong = files.Combine("wrong.safetensors");
        SafeTensorsFile.Write(wrong, linear);
        FluentActions.Invoking(() => Lpips.Load(vggPath, wrong)).Should().Throw<WeightsFormatException>()
            .Where(e => e.Message.Contains(wrong) && e.Message.Contains("lin2.model.1.weight") && e.Message.Contains("[1, 256, 1, 1]"));

        // The linear-head file given where the VGG file belongs: every features.* key is missing.
        FluentActions.Invoking(() => Lpips.Load(linearPath, linearPath)).Should().Throw<WeightsFormatException>()
            .Where(e => e.Message.Contains("features.0.weight"));
    }

    [Fact]
    public void The_job_adds_the_weighted_lpips_to_the_l1_loss()
    {
        using var folder = new TemporaryFolder();
        using var encoder = new PatchProjectionEncoder(TrainDecoderJobTests.ImageSize, TrainDecoderJobTests.Patch, channels: 48, seed: 1);
        using var decoder = TrainDecoderJobTests.TinyDecoder(encoder, folder.Path);
        var results = new RunResults();
        var options = new TrainDecoderOptions
        {
            Steps = 3, BatchSize = 16, Lpips = true, LpipsWeight = 0.5, LpipsVgg = files.Vgg, LpipsLinear = files.Linear,
            DiscWeight = 0, LogEvery = 1, GridImages = 2,
        };
        new TrainDecoderJob().Run(TrainDecoderJobTests.Context(folder, encoder, decoder, new RecordingLoggerFactory(), results), options);
        var l1 = results.Curve("train-decoder/l1");
        var lpips = results.Curve("train-decoder/lpips");
        var loss = results.Curve("train-decoder/loss");
        lpips.Select(p => p.Step).Should().Equal(1, 2, 3);
        lpips.Should().OnlyContain(p => p.Value > 0 && double.IsFinite(p.Value));
        for (int i = 0; i < 3; i++) loss[i].Value.Should().BeApproximately(l1[i].Value + 0.5 * lpips[i].Value, 1e-5);
        results.Curve("train-decoder/gan").Should().BeEmpty();
    }
}
