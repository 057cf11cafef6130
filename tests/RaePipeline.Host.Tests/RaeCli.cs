namespace RaePipeline.Host.Tests;

/// <summary>Runs <c>rae</c> in-process with its output and error text and exit code.</summary>
public static class RaeCli
{
    public sealed record Result(int Exit, string Output, string Error)
    {
        public override string ToString() => $"exit {Exit}\n--- output\n{Output}\n--- error\n{Error}";
    }

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = RaeCommand.Run(args, output, error, Pipeline.ProgressReporter.Silent, _ => { });
        return new Result(exit, output.ToString(), error.ToString());
    }
}
