using RaePipeline.Training;
using RaePipeline.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Training.Tests;

public class TrainingCheckpointTests
{
    sealed class Run : IDisposable
    {
        public Run(long seed)
        {
            torch.manual_seed(seed);
            Model = torch.nn.Sequential(("net", torch.nn.Linear(5, 4)), ("act", torch.nn.GELU()), ("out", torch.nn.Linear(4, 2)));
            Ema = new ExponentialMovingAverage(Model, 0.8);
            Optimizer = torch.optim.AdamW(Model.parameters(), 1e-2, 0.9, 0.95);
            Noise = new torch.Generator((ulong)seed + 100, torch.CPU);
            State = new TrainingState
            {
                Model = Model, Ema = Ema, Optimizer = Optimizer,
                Parameters = TrainingState.TrainableParameters(Model),
                Generators = new Dictionary<string, Generator> { ["noise"] = Noise },
            };
        }

        public nn.Module<Tensor, Tensor> Model { get; }
        public ExponentialMovingAverage Ema { get; }
        public TorchSharp.Modules.AdamW Optimizer { get; }
        public Generator Noise { get; }
        public TrainingState State { get; }

        /// <summary>One optimizer step on random data drawn from both the run's generator and the default one; returns the loss.</summary>
        public float Step()
        {
            using var scope = NewDisposeScope();
            var x = torch.randn([6, 5], generator: Noise);
            var y = torch.randn(6, 2);
            Optimizer.zero_grad();
            var loss = (Model.forward(x) - y).square().mean();
            loss.backward();
            Optimizer.step();
            Ema.Update(Model);
            State.Step++;
            return loss.item<float>();
        }

        public void Dispose()
        {
            Ema.Dispose();
            Optimizer.Dispose();
            Noise.Dispose();
            Model.Dispose();
        }
    }

    [Fact]
    public void Loading_a_checkpoint_continues_exactly()
    {
        using var folder = new TemporaryFolder();
        using var original = new Run(1);
        for (int i = 0; i < 3; i++) original.Step();
        original.State.Facts["schedule"] = "constant 0.01";
        var saved = TrainingCheckpoint.Save(folder.Path, original.State);
        Path.GetFileName(saved).Should().Be("step-00000003");
        TrainingCheckpoint.Latest(folder.Path).Should().Be(saved);
        var continued = Enumerable.Range(0, 3).Select(_ => original.Step()).ToList();

        using var resumed = new Run(2); // different initial weights and generator states
        TrainingCheckpoint.Load(saved, resumed.State);
        resumed.State.Step.Should().Be(3);
        resumed.State.Facts["schedule"].Should().Be("constant 0.01");
        Enumerable.Range(0, 3).Select(_ => resumed.Step()).Should().Equal(continued);
        foreach (var (name, value) in original.Model.state_dict())
            resumed.Model.state_dict()[name].SameValues(value).Should().BeTrue(name);
    }

    [Fact]
    public void Weights_files_carry_the_model_keys()
    {
        using var folder = new TemporaryFolder();
        using var run = new Run(1);
        run.Step();
        var saved = TrainingCheckpoint.Save(folder.Path, run.State);
        var model = WeightFiles.ReadStateDict(Path.Combine(saved, TrainingCheckpoint.ModelFile));
        var ema = WeightFiles.ReadStateDict(Path.Combine(saved, TrainingCheckpoint.EmaFile));
        model.Keys.Should().BeEquivalentTo("net.weight", "net.bias", "out.weight", "out.bias");
        ema.Keys.Should().BeEquivalentTo(model.Keys);
        ema["out.weight"].SameValues(run.Ema.StateDict()["out.weight"]).Should().BeTrue();
    }

    [Theory]
    [InlineData(TrainingCheckpoint.ModelFile)]
    [InlineData(TrainingCheckpoint.OptimizerFile)]
    [InlineData(TrainingCheckpoint.StateFile)]
    public void A_write_that_fails_midway_leaves_the_previous_checkpoint_intact(string failAfter)
    {
        using var folder = new TemporaryFolder();
        using var run = new Run(1);
        run.Step();
        var first = TrainingCheckpoint.Save(folder.Path, run.State);
        var before = Directory.GetFiles(first).ToDictionary(Path.GetFileName, File.ReadAllBytes);
        run.Step();
        TrainingCheckpoint.AfterFileWritten = name =>
        {
            if (name == failAfter) throw new IOException("simulated crash");
        };
        try
        {
            FluentActions.Invoking(() => TrainingCheckpoint.Save(folder.Path, run.State)).Should().Throw<IOException>();
        }
        finally
        {
            TrainingCheckpoint.AfterFileWritten = null;
        }
        TrainingCheckpoint.List(folder.Path).Select(c => c.Step).Should().Equal(1);
        Directory.GetDirectories(folder.Path).Should().HaveCount(1, "the temporary folder is removed");
        foreach (var (name, bytes) in before) File.ReadAllBytes(Path.Combine(first, name)).Should().Equal(bytes, name);
        using var reloaded = new Run(3);
        TrainingCheckpoint.Load(first, reloaded.State);
        reloaded.State.Step.Should().Be(1);
    }

    [Fact]
    public void Keep_prunes_old_checkpoints_and_errors_name_the_file()
    {
        using var folder = new TemporaryFolder();
        using var run = new Run(1);
        for (int i = 0; i < 4; i++)
        {
            run.Step();
            TrainingCheckpoint.Save(folder.Path, run.State, keep: 2);
        }
        TrainingCheckpoint.List(folder.Path).Select(c => c.Step).Should().Equal(3, 4);

        var latest = TrainingCheckpoint.Latest(folder.Path)!;
        File.Delete(Path.Combine(latest, TrainingCheckpoint.OptimizerFile));
        using var other = new Run(2);
        FluentActions.Invoking(() => TrainingCheckpoint.Load(latest, other.State))
            .Should().Throw<TrainingCheckpointException>().WithMessage("*optimizer.safetensors is missing*");
        FluentActions.Invoking(() => TrainingCheckpoint.Load(folder.Combine("nope"), other.State))
            .Should().Throw<TrainingCheckpointException>().WithMessage("*not found*");
    }
}
