using RaePipeline.Host;
using RaePipeline.Pipeline;

ProcessHeap.KeepFreedMemory();
return RaeCommand.Run(args, Console.Out, Console.Error, ProgressReporter.Console);
