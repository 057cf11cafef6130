using System.Text.Json.Nodes;
using RaePipeline.Abstractions;
using RaePipeline.Encoders.DinoV2;
using RaePipeline.Encoders.Mae;
using RaePipeline.Encoders.SigLip2;
using RaePipeline.Weights;

namespace RaePipeline.Autoencoder.Tests;

public sealed class ConfigurationErrorTests : IDisposable
{
    readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("rae-encoder-errors-");

    public void Dispose() => temporary.Delete(recursive: true);

    /// <summary>A copy of a kit model folder that the test may damage.</summary>
    string CopyOfKitFolder(string caseName)
    {
        var target = Path.Combine(temporary.FullName, caseName);
        Directory.CreateDirectory(target);
        foreach (var file in new[] { "config.json", "preprocessor_config.json", "model.safetensors" })
            File.Copy(Path.Combine(ParityKit.CaseFolder(caseName), file), Path.Combine(target, file));
        return target;
    }

    [ParityFact("dinov2")]
    public void A_folder_without_config_json_is_refused_naming_the_folder()
    {
        var folder = CopyOfKitFolder("dinov2");
        File.Delete(Path.Combine(folder, "config.json"));
        var context = TestContexts.For(folder, temporary.FullName);
        foreach (var act in new Action[]
                 {
                     () => DinoV2Registrar.Registration.Create(context, new DinoV2Options()).Dispose(),
                     () => DinoV2Registrar.Registration.Describe!(context, new DinoV2Options()),
                 })
            act.Should().Throw<ComponentConfigurationException>()
                .Where(e => e.Message.Contains(folder) && e.Message.Contains("config.json") && e.FilePath!.EndsWith("config.json"));
    }

    [ParityFact("dinov2")]
    public void An_unknown_model_type_is_refused_naming_the_file_and_the_type()
    {
        var folder = CopyOfKitFolder("dinov2");
        var configPath = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["model_type"] = "bert";
        File.WriteAllText(configPath, config.ToJsonString());
        var act = () => DinoV2Encoder.Create(TestContexts.For(folder, temporary.FullName), new DinoV2Options());
        act.Should().Throw<ComponentConfigurationException>()
            .Where(e => e.Message.Contains(configPath) && e.Message.Contains("'bert'") && e.Message.Contains("dinov2_with_registers"));
    }

    [ParityFact("mae")]
    public void A_model_folder_of_another_family_is_refused()
    {
        var context = TestContexts.For(ParityKit.CaseFolder("mae"), temporary.FullName);
        var act = () => SigLip2Encoder.Create(context, new SigLip2Options());
        act.Should().Throw<ComponentConfigurationException>()
            .Where(e => e.Message.Contains("'vit_mae'") && e.Message.Contains("'siglip'"));
    }

    [ParityFact("dinov2")]
    public void A_dinov2_checkpoint_with_a_missing_key_is_refused_naming_file_and_key() => MissingKeyIsRefused("dinov2");

    [ParityFact("siglip")]
    public void A_siglip_checkpoint_with_a_missing_key_is_refused_naming_file_and_key() => MissingKeyIsRefused("siglip");

    [ParityFact("mae")]
    public void A_mae_checkpoint_with_a_missing_key_is_refused_naming_file_and_key() => MissingKeyIsRefused("mae");

    void MissingKeyIsRefused(string caseName)
    {
        var folder = CopyOfKitFolder(caseName);
        var weightsPath = Path.Combine(folder, "model.safetensors");
        var tensors = SafeTensorsFile.Read(weightsPath);
        // The MLP output weight of an encoder layer (mlp.fc2 in DINOv2/SigLIP, output.dense in ViT-MAE).
        var removed = tensors.Keys
            .Where(k => k.Contains("encoder.layer") && (k.EndsWith("mlp.fc2.weight") || k.EndsWith(".output.dense.weight") && !k.Contains("attention")))
            .OrderBy(k => k, StringComparer.Ordinal).First();
        tensors.Remove(removed);
        SafeTensorsFile.Write(weightsPath, tensors);
        var context = TestContexts.For(folder, temporary.FullName);
        Action act = caseName switch
        {
            "dinov2" => () => DinoV2Encoder.Create(context, new DinoV2Options()).Dispose(),
            "siglip" => () => SigLip2Encoder.Create(context, new SigLip2Options()).Dispose(),
            _ => () => MaeEncoder.Create(context, new MaeOptions()).Dispose(),
        };
        act.Should().Throw<ComponentConfigurationException>()
            .Where(e => e.Message.Contains(weightsPath) && e.Message.Contains(removed) && e.Message.Contains("missing"));
    }

    [ParityFact("dinov2")]
    public void A_mis_shaped_tensor_is_refused_naming_key_and_shapes()
    {
        var folder = CopyOfKitFolder("dinov2");
        var weightsPath = Path.Combine(folder, "model.safetensors");
        var tensors = SafeTensorsFile.Read(weightsPath);
        const string key = "embeddings.register_tokens";
        tensors[key] = TorchSharp.torch.cat([tensors[key], tensors[key]], 1); // twice the registers, whatever their count
        SafeTensorsFile.Write(weightsPath, tensors);
        var act = () => DinoV2Encoder.Create(TestContexts.For(folder, temporary.FullName), new DinoV2Options());
        act.Should().Throw<ComponentConfigurationException>()
            .Where(e => e.Message.Contains(key) && e.Message.Contains("mis-shaped"));
    }
}
