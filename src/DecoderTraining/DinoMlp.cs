using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RaePipeline.DecoderTraining;

/// <summary>fc1 -> GELU (tanh) -> fc2.</summary>
public sealed class DinoMlp : nn.Module<Tensor, Tensor>
{
    readonly Linear fc1;
    readonly GELU act;
    readonly Linear fc2;

    public DinoMlp(int dim, int hidden, Generator? generator) : base(nameof(DinoMlp))
    {
        fc1 = DinoInitialization.Linear(dim, hidden, generator);
        act = nn.GELU(GELU.Approximate.tanh);
        fc2 = DinoInitialization.Linear(hidden, dim, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc2.call(act.call(fc1.call(x))).MoveToOuterDisposeScope();
    }
}
