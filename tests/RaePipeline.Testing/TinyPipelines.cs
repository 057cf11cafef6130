namespace RaePipeline.Testing;

/// <summary>Small pipelines of the bundled plugins that validate (and run in seconds).</summary>
public static class TinyPipelines
{
    /// <summary>dinov2 (16, 4, 4) at 16 px, vit-decoder, dit-dh with 3 classes, euler; synthetic data of 3 classes.</summary>
    public const string Components = """
        device: cpu
        seed: 5
        encoder:
          name: dinov2
          options: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, mlp_ratio: 2, patch_size: 4, image_size: 16, num_register_tokens: 4 }
        decoder:
          name: vit-decoder
          options: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, patch_size: 4 }
        denoiser:
          name: dit-dh
          options: { hidden_size: [16, 24], depth: [1, 1], num_heads: [2, 2], num_classes: 3 }
        sampler:
          name: euler
          options: { num_steps: 2 }
        data: { source: synthetic, image_size: 16, num_classes: 3, images_per_class: 2 }

        """;
}
