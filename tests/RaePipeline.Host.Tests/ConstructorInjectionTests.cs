using Microsoft.Extensions.Logging;
using RaePipeline.Host.Composition;
using RaePipeline.Pipeline;
using TorchSharp;

namespace RaePipeline.Host.Tests;

/// <summary>Class-form components are built by the run's service container with what their constructor asks for.</summary>
public class ConstructorInjectionTests : IDisposable
{
    readonly HostFixture host = new();

    public void Dispose() => host.Dispose();

    [Fact]
    public void A_component_gets_its_options_an_ILogger_of_its_type_and_the_encoder_injected()
    {
        InjectedComponents.Register(host.Runner.Catalog);
        var path = host.Pipeline(TinyPipelines.Components.Replace("name: euler\n  options: { num_steps: 2 }", $"name: {InjectedComponents.SamplerName}\n  options: {{ num_steps: 7 }}"));
        var plan = host.Runner.Plan(path, []);
        var logs = new RecordingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        using var components = new PipelineComponents(plan, torch.CPU, 0, factory);

        var sampler = components.Sampler.Should().BeOfType<InjectedComponents.InjectedSampler>().Subject;
        sampler.Steps.Should().Be(7);
        components.Sampler.Should().BeSameAs(sampler, "one component per role and run");
        logs.Lines.Should().Contain(("RaePipeline.Host.Tests.InjectedComponents.InjectedSampler", "7 steps for latents (16, 4, 4)"), "ILogger<InjectedSampler>");
        logs.Lines.Should().Contain(("rae.components", "building sampler 'injected'"), "a sampler holds no weights: no 'randomly initialized'");
    }

    [Fact]
    public void The_stats_job_is_built_by_the_container_with_its_logger()
    {
        var stats = host.Runner.Jobs.Find("stats")!;
        stats.GetType().GetConstructors().Single().GetParameters().Select(p => p.ParameterType)
            .Should().Equal(typeof(ILogger<Autoencoding.StatsJob>));
    }

    sealed class RecordingLoggerProvider : ILoggerProvider
    {
        public List<(string Category, string Message)> Lines { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

        public void Dispose() { }

        sealed class Recorder(RecordingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (provider.Lines) provider.Lines.Add((category, formatter(state, exception)));
            }
        }
    }
}
