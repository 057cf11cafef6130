using RaePipeline.Abstractions;
using RaePipeline.FlowMatching;
using static TorchSharp.torch;

namespace RaePipeline.Samplers.Tests;

/// <summary>
/// The guidance wrappers on a synthetic label-dependent field f(x, t, y) = (y + 1) x + t, whose conditional and
/// unconditional values are easy to write down, so every guided value can be checked by hand.
/// </summary>
public class GuidanceTests
{
    const long NullLabel = 9;

    static Tensor Field(Tensor x, Tensor t, Tensor y) =>
        (y.to(float32) + 1.0f).view(-1, 1, 1, 1) * x + t.view(-1, 1, 1, 1);

    static Tensor Expected(Tensor x, float t, long y) => (y + 1.0f) * x + t;

    // 0.8f is above 0.8 in double but equal to (float)0.8: guided in float32, as in the official comparison.
    static readonly float[] Times = [0.2f, 0.3f, 0.8f, MathF.BitIncrement(0.8f)];
    static readonly bool[] Inside = [false, true, true, false];

    [Fact]
    public void Cfg_uses_the_first_half_twice_and_guides_inside_the_float32_interval()
    {
        using var scope = NewDisposeScope();
        var b = Times.Length;
        var labels = tensor(new long[] { 0, 3, 5, 7 });
        var xFirst = randn(b, 2, 3, 3, generator: new Generator(1));
        var xSecond = randn(b, 2, 3, 3, generator: new Generator(2)); // differs from the first half: must be ignored
        var x = cat([xFirst, xSecond], 0);
        var t = tensor(Times.Concat(Times).ToArray());
        var y = cat([labels, full([b], NullLabel, dtype: ScalarType.Int64)], 0);
        const double scale = 2.5;
        var cfg = new ClassifierFreeGuidance(Field, scale, new GuidanceInterval(0.3, 0.8));
        var v = cfg.Field(x, t, y);
        v.shape.Should().Equal(x.shape);
        for (var i = 0; i < b; i++)
        {
            var conditional = Expected(xFirst[i], Times[i], labels[i].item<long>());
            var unconditional = Expected(xFirst[i], Times[i], NullLabel);
            var expected = Inside[i] ? unconditional + (float)scale * (conditional - unconditional) : conditional;
            TensorAssert.Close(v[i], expected, 1e-6, 1e-6, $"first half, sample {i}");
            v[b + i].SameValues(v[i]).Should().BeTrue($"the second half repeats sample {i}");
        }
    }

    [Fact]
    public void Autoguidance_mixes_main_and_guide_per_sample_inside_the_interval()
    {
        using var scope = NewDisposeScope();
        var b = Times.Length;
        var labels = tensor(new long[] { 1, 2, 3, NullLabel });
        var x = randn(b, 2, 3, 3, generator: new Generator(3));
        var t = tensor(Times);
        Tensor Guide(Tensor xx, Tensor tt, Tensor yy) => 0.5f * Field(xx, tt, yy) - 1.0f;
        const double scale = 1.8;
        var ag = new AutoGuidance(Field, Guide, scale, new GuidanceInterval(0.3, 0.8));
        var v = ag.Field(x, t, labels);
        for (var i = 0; i < b; i++)
        {
            var main = Expected(x[i], Times[i], labels[i].item<long>());
            var guide = 0.5f * main - 1.0f;
            var expected = Inside[i] ? guide + (float)scale * (main - guide) : main;
            TensorAssert.Close(v[i], expected, 1e-6, 1e-6, $"sample {i}");
        }
    }

    [Fact]
    public void Doubled_batch_repeats_the_noise_and_appends_null_labels()
    {
        using var scope = NewDisposeScope();
        var noise = randn(3, 2, 2, 2);
        var labels = tensor(new long[] { 4, 0, 2 });
        var (x, y) = GuidanceBatch.Double(noise, labels, NullLabel);
        x.shape.Should().Equal([6, 2, 2, 2]);
        x[..3].SameValues(noise).Should().BeTrue();
        x[3..].SameValues(noise).Should().BeTrue();
        y.data<long>().ToArray().Should().Equal(4, 0, 2, NullLabel, NullLabel, NullLabel);
        GuidanceBatch.FirstHalf(x).SameValues(noise).Should().BeTrue();
        var odd = () => GuidanceBatch.FirstHalf(noise);
        odd.Should().Throw<ArgumentException>().WithMessage("*even batch*");
    }

    [Fact]
    public void Interval_must_be_increasing()
    {
        var reversed = () => new GuidanceInterval(0.8, 0.3);
        reversed.Should().Throw<ArgumentException>().WithMessage("*t_min < t_max*");
    }

    [Theory]
    [InlineData(GuidanceMethod.Cfg, 1.5, true)]
    [InlineData(GuidanceMethod.Autoguidance, 1.42, true)]
    [InlineData(GuidanceMethod.Cfg, 1.0, false)]
    [InlineData(GuidanceMethod.None, 4.0, false)]
    public void Guided_velocity_doubles_the_batch_only_when_guiding(GuidanceMethod method, double scale, bool doubles)
    {
        using var scope = NewDisposeScope();
        using var main = new FieldDenoiser(Field, NullLabel);
        using var guide = new FieldDenoiser((x, t, y) => 0.5f * Field(x, t, y), NullLabel);
        var guided = GuidedVelocity.Create(method, scale, GuidanceInterval.Always, main, guide);
        guided.DoublesBatch.Should().Be(doubles);
        var noise = randn(2, 2, 3, 3);
        var (x, y) = guided.Prepare(noise, tensor(new long[] { 1, 2 }));
        x.shape[0].Should().Be(doubles ? 4 : 2);
        var v = guided.Field(x, full([x.shape[0]], 0.5f), y);
        var samples = guided.Result(v);
        samples.shape.Should().Equal(noise.shape);
        var conditional = Field(noise, full([2], 0.5f), tensor(new long[] { 1, 2 }));
        var weak = method == GuidanceMethod.Cfg ? Field(noise, full([2], 0.5f), full([2], NullLabel, dtype: ScalarType.Int64)) : 0.5f * conditional;
        var expected = doubles ? weak + (float)scale * (conditional - weak) : conditional;
        TensorAssert.Close(samples, expected, 1e-5, 1e-5, $"{method} {scale}");
    }

    [Fact]
    public void Autoguidance_without_a_guide_is_refused()
    {
        using var main = new FieldDenoiser(Field, NullLabel);
        var create = () => GuidedVelocity.Create(GuidanceMethod.Autoguidance, 1.5, GuidanceInterval.Always, main);
        create.Should().Throw<ArgumentException>().WithMessage("*guide*");
    }
}
