using RaePipeline.Host;
using RaePipeline.Pipeline;

ProcessHeap.KeepFreedMemory();
// Garbage collections only at the job thread's safe points (TorchSharp's Scalar finalizer race; README, Known limits).
using var collections = CollectionsAtSafePoints.EnableUnlessSwitchedOff();
return RaeCommand.Run(args, Console.Out, Console.Error, ProgressReporter.Console);
