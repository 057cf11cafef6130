using RaePipeline.Abstractions;
using RaePipeline.Abstractions.Testing;
using RaePipeline.Decoders.VitDecoder;
using RaePipeline.Encoders.DinoV2;
using RaePipeline.Encoders.Mae;
using RaePipeline.Encoders.SigLip2;
using static TorchSharp.torch;

namespace RaePipeline.Autoencoder.Tests;

// The bundled encoders and the decoder through the contract kit third parties use, built by their registrations at a
// tiny size, randomly initialized from the seed.

public sealed class DinoV2ContractTests : EncoderContractTests
{
    protected override IEncoder CreateEncoder(long seed) =>
        DinoV2Registrar.Registration.Create(RandomInitializationTests.Context(seed), RandomInitializationTests.Tiny<DinoV2Options>());
}

public sealed class SigLip2ContractTests : EncoderContractTests
{
    protected override IEncoder CreateEncoder(long seed) =>
        SigLip2Registrar.Registration.Create(RandomInitializationTests.Context(seed), RandomInitializationTests.Tiny<SigLip2Options>());
}

public sealed class MaeContractTests : EncoderContractTests
{
    protected override IEncoder CreateEncoder(long seed) =>
        MaeRegistrar.Registration.Create(RandomInitializationTests.Context(seed), RandomInitializationTests.Tiny<MaeOptions>());
}

public sealed class VitDecoderContractTests : DecoderContractTests
{
    protected override IDecoder CreateDecoder(long seed) => VitDecoderRegistrar.Registration.Create(
        new ComponentContext
        {
            Device = CPU, Seed = seed, BaseDirectory = Path.GetTempPath(), EncoderLatent = new LatentShape(8, 2, 2),
            EncoderImageNormalization = ImageNormalization.ImageNet,
        },
        new VitDecoderOptions { HiddenSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 32, PatchSize = 2 });
}
