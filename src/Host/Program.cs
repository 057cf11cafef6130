using RaePipeline.Host;
using RaePipeline.Pipeline;

return RaeCommand.Run(args, Console.Out, Console.Error, ProgressReporter.Console);
