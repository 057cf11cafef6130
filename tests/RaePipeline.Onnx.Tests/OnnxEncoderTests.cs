using Microsoft.ML.OnnxRuntime;
using RaePipeline.Abstractions;
using RaePipeline.Encoders.Onnx;
using RaePipeline.Encoders.Onnx.Protobuf;
using RaePipeline.VisionTransformers;
using TorchSharp;
using static TorchSharp.torch;

namespace RaePipeline.Onnx.Tests;

/// <summary>The onnx encoder against ONNX Runtime's own output on graphs the tests write.</summary>
public sealed class OnnxEncoderTests : IDisposable
{
    static readonly float[] Mean = [0.5f, 0.4f, 0.3f], Std = [0.25f, 0.2f, 0.5f];
    readonly string folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "rae-onnx-" + Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    ComponentContext Context(string weights) => new() { Device = CPU, BaseDirectory = folder, WeightsPath = weights };

    OnnxEncoderOptions Options(string? node = null, int dropTokens = 0, string layout = OutputLayout.Auto, int? inputSize = null) =>
        new() { Node = node, DropTokens = dropTokens, Layout = layout, InputSize = inputSize, ImageMean = Mean, ImageStd = Std };

    OnnxEncoder Encoder(string path, OnnxEncoderOptions options) => OnnxEncoder.Create(Context(path), options, path, "onnx");

    /// <summary>What the encoder feeds the graph: (x − mean) / std.</summary>
    static Tensor Normalized(Tensor images) =>
        (images - tensor(Mean).view(1, 3, 1, 1)) / tensor(Std).view(1, 3, 1, 1);

    static Tensor Images(long batch, long side, int seed = 3) => rand([batch, 3, side, side], generator: new Generator((ulong)seed));

    [Fact]
    public void An_inner_node_is_fetched_as_ONNX_Runtime_computes_it()
    {
        var model = TinyPatchModel.Build("batch", 8);
        var path = TinyPatchModel.Write(folder, "tiny.onnx", model);
        // The reference declares the inner value as an output itself; the file the encoder reads does not.
        var reference = TinyPatchModel.Build("batch", 8, true, TinyPatchModel.Relu);
        using var scope = NewDisposeScope();
        var images = Images(2, 8);
        var expected = OnnxReference.Run(reference, TinyPatchModel.Input, Normalized(images), TinyPatchModel.Relu);

        using var encoder = Encoder(path, Options(TinyPatchModel.Relu));
        var latents = encoder.Encode(images);

        encoder.LatentShape.Should().Be(new LatentShape(4, 4, 4));
        latents.shape.Should().Equal(2, 4, 4, 4);
        (latents - expected).abs().max().item<float>().Should().BeLessThan(1e-6f);
        expected.min().item<float>().Should().Be(0, "the Relu zeroes some positions, so the value is not trivially positive");
        // Without the plugin's added output ONNX Runtime cannot fetch the inner value of that file at all.
        var direct = () => OnnxReference.Run(model, TinyPatchModel.Input, Normalized(images), TinyPatchModel.Relu);
        direct.Should().Throw<OnnxRuntimeException>();
    }

    [Fact]
    public void The_fetched_value_becomes_the_only_output_and_only_the_nodes_it_needs_stay()
    {
        var model = TinyPatchModel.Build("batch", 8);
        var graph = OnnxGraph.Parse(model, "tiny.onnx");
        var edited = OnnxGraph.Parse(graph.FetchOnly(model, TinyPatchModel.Relu), "edited.onnx");

        edited.Outputs.Select(o => o.Name).Should().Equal(TinyPatchModel.Relu);
        edited.Outputs[0].ShapeText.Should().Be("[batch, 4, 4, 4]", "the value_info entry comes along");
        edited.Nodes.Select(n => n.Name).Should().Equal("conv_node", TinyPatchModel.ReluNode);
        edited.Inputs.Select(i => i.Name).Should().Equal(TinyPatchModel.Input);
        var initializers = ProtoReader.Fields(ProtoReader.Fields(graph.FetchOnly(model, TinyPatchModel.Relu)).Single(f => f.Number == 7).Bytes)
            .Where(f => f.Number == 5).Select(f => ProtoReader.Fields(f.Bytes).Single(t => t.Number == 8).Text);
        initializers.Should().Equal(["conv.weight", "conv.bias"], "the reshape targets are read by dropped nodes only");
        var whole = OnnxGraph.Parse(graph.FetchOnly(model, TinyPatchModel.Tokens), "whole.onnx");
        whole.Nodes.Select(n => n.Name).Should().Equal(graph.Nodes.Select(n => n.Name), "the declared output needs every node");
    }

    [Fact]
    public void Weights_in_an_external_data_file_beside_the_model_are_found()
    {
        var modelFolder = Directory.CreateDirectory(Path.Combine(folder, "export")).FullName;
        var path = TinyPatchModel.Write(modelFolder, "model.onnx", TinyPatchModel.BuildWithExternalWeights(modelFolder, "model.onnx.data"));
        using var scope = NewDisposeScope();
        var images = Images(2, 8);
        var expected = OnnxReference.Run(TinyPatchModel.Build("batch", 8), TinyPatchModel.Input, Normalized(images), TinyPatchModel.Tokens);

        using var encoder = Encoder(path, Options(dropTokens: 1));

        var latents = encoder.Encode(images);
        var fromTokens = expected.narrow(1, 1, 16).transpose(1, 2).reshape(2, 4, 4, 4);
        (latents - fromTokens).abs().max().item<float>().Should().BeLessThan(1e-6f);
    }

    [Fact]
    public void A_node_name_stands_for_its_output()
    {
        var path = TinyPatchModel.Write(folder, "tiny.onnx", TinyPatchModel.Build("batch", 8));
        using var scope = NewDisposeScope();
        var images = Images(2, 8);
        using var byValue = Encoder(path, Options(TinyPatchModel.Relu));
        using var byNode = Encoder(path, Options(TinyPatchModel.ReluNode));
        (byNode.Encode(images) - byValue.Encode(images)).abs().max().item<float>().Should().Be(0);
    }

    [Fact]
    public void Token_outputs_drop_the_leading_tokens_and_form_a_square_grid()
    {
        var path = TinyPatchModel.Write(folder, "tiny.onnx", TinyPatchModel.Build("batch", 8));
        using var scope = NewDisposeScope();
        var images = Images(3, 8);
        var tokens = OnnxReference.Run(File.ReadAllBytes(path), TinyPatchModel.Input, Normalized(images), TinyPatchModel.Tokens);

        using var encoder = Encoder(path, Options(dropTokens: 1)); // default node: the declared output, 17 tokens
        var latents = encoder.Encode(images);

        encoder.LatentShape.Should().Be(new LatentShape(4, 4, 4));
        var expected = tokens.narrow(1, 1, 16).transpose(1, 2).reshape(3, 4, 4, 4);
        (latents - expected).abs().max().item<float>().Should().BeLessThan(1e-6f);
        // The tiny graph's patch tokens are its Relu maps laid out row by row: both layouts give one latent.
        using var maps = Encoder(path, Options(TinyPatchModel.Relu, layout: OutputLayout.Maps));
        (maps.Encode(images) - latents).abs().max().item<float>().Should().BeLessThan(1e-6f);
    }

    [Fact]
    public void A_graph_with_a_fixed_batch_runs_chunk_by_chunk()
    {
        var model = TinyPatchModel.Build(1, 8);
        var path = TinyPatchModel.Write(folder, "batch1.onnx", model);
        using var scope = NewDisposeScope();
        var images = Images(3, 8);
        var reference = TinyPatchModel.Build(1, 8, true, TinyPatchModel.Relu);
        var expected = cat(Enumerable.Range(0, 3)
            .Select(i => OnnxReference.Run(reference, TinyPatchModel.Input, Normalized(images.narrow(0, i, 1)), TinyPatchModel.Relu)).ToList(), 0);

        using var encoder = Encoder(path, Options(TinyPatchModel.Relu));

        (encoder.Encode(images) - expected).abs().max().item<float>().Should().BeLessThan(1e-6f);
    }

    [Fact]
    public void Images_of_another_size_are_resized_bicubically_like_the_other_encoders()
    {
        var path = TinyPatchModel.Write(folder, "tiny.onnx", TinyPatchModel.Build("batch", 8));
        using var scope = NewDisposeScope();
        var images = Images(2, 13);
        var resized = ImageResize.Bicubic(images, 8, 8, antialias: false);
        var reference = TinyPatchModel.Build("batch", 8, true, TinyPatchModel.Relu);
        var expected = OnnxReference.Run(reference, TinyPatchModel.Input, Normalized(resized), TinyPatchModel.Relu);

        using var encoder = Encoder(path, Options(TinyPatchModel.Relu));

        (encoder.Encode(images) - expected).abs().max().item<float>().Should().BeLessThan(1e-6f);
    }

    [Fact]
    public void The_latent_shape_is_known_at_validation_from_the_declared_shapes_or_one_dry_run()
    {
        var declared = TinyPatchModel.Write(folder, "declared.onnx", TinyPatchModel.Build("batch", 8));
        OnnxEncoder.Describe(Context(declared), Options(TinyPatchModel.Relu), declared)
            .Should().BeEquivalentTo(new ComponentDescription { Latent = new LatentShape(4, 4, 4), ImageSize = 8 });

        // Symbolic height and width, no value_info: the shape comes from one run at input_size.
        var dynamic = TinyPatchModel.Write(folder, "dynamic.onnx", TinyPatchModel.Build("batch", null, declareShapes: false));
        OnnxEncoder.Describe(Context(dynamic), Options(TinyPatchModel.Relu, inputSize: 12), dynamic).Latent
            .Should().Be(new LatentShape(4, 6, 6));
        OnnxEncoder.Describe(Context(dynamic), Options(dropTokens: 1, inputSize: 20), dynamic).Latent
            .Should().Be(new LatentShape(4, 10, 10));
        using var encoder = Encoder(dynamic, Options(dropTokens: 1, inputSize: 20));
        using var latents = encoder.Encode(Images(1, 20));
        latents.shape.Should().Equal(1, 4, 10, 10);
    }

    [Fact]
    public void An_unknown_node_names_the_file_and_the_closest_names()
    {
        var path = TinyPatchModel.Write(folder, "tiny.onnx", TinyPatchModel.Build("batch", 8));
        var act = () => OnnxEncoder.Describe(Context(path), Options("rleu"), path);
        var error = act.Should().Throw<ComponentConfigurationException>().Which;
        error.Message.Should().Contain(path).And.Contain("'rleu'").And.Contain("closest: relu");
        error.OptionKey.Should().Be("node");
        error.FilePath.Should().Be(path);
    }

    [Fact]
    public void An_input_size_the_graph_does_not_take_names_the_file_and_the_input()
    {
        var path = TinyPatchModel.Write(folder, "tiny.onnx", TinyPatchModel.Build("batch", 8));
        var act = () => OnnxEncoder.Describe(Context(path), Options(inputSize: 16), path);
        var error = act.Should().Throw<ComponentConfigurationException>().Which;
        error.Message.Should().Contain(path).And.Contain("input 'images' is [batch, 3, 8, 8]").And.Contain("input_size 16");
        error.OptionKey.Should().Be("input_size");

        var dynamic = TinyPatchModel.Write(folder, "dynamic.onnx", TinyPatchModel.Build("batch", null, declareShapes: false));
        var noSize = () => OnnxEncoder.Describe(Context(dynamic), Options(), dynamic);
        noSize.Should().Throw<ComponentConfigurationException>()
            .Where(e => e.Message.Contains(dynamic) && e.Message.Contains("set `input_size`") && e.OptionKey == "input_size");
    }

    [Fact]
    public void A_missing_or_malformed_file_is_named()
    {
        var missing = Path.Combine(folder, "missing.onnx");
        var act = () => OnnxEncoder.Describe(Context(missing), Options(), missing);
        act.Should().Throw<ComponentConfigurationException>()
            .Where(e => e.Message.Contains("ONNX model file not found: " + missing) && e.FilePath == missing && e.OptionKey == "weights");

        var garbage = Path.Combine(folder, "garbage.onnx");
        File.WriteAllBytes(garbage, [0x0a, 0xff, 0x01, 0x02]);
        var malformed = () => OnnxEncoder.Describe(Context(garbage), Options(), garbage);
        malformed.Should().Throw<ComponentConfigurationException>().Where(e => e.Message.StartsWith(garbage + ": not an ONNX model"));
    }

    [Fact]
    public void Layout_options_that_do_not_fit_the_value_are_refused_with_the_value_named()
    {
        var path = TinyPatchModel.Write(folder, "tiny.onnx", TinyPatchModel.Build("batch", 8));
        var notSquare = () => OnnxEncoder.Describe(Context(path), Options(), path); // 17 tokens, none dropped
        notSquare.Should().Throw<ComponentConfigurationException>()
            .Where(e => e.Message.Contains("'tokens' has 17 tokens") && e.OptionKey == "drop_tokens");
        var dropOnMaps = () => OnnxEncoder.Describe(Context(path), Options(TinyPatchModel.Relu, dropTokens: 1), path);
        dropOnMaps.Should().Throw<ComponentConfigurationException>().Where(e => e.OptionKey == "drop_tokens" && e.Message.Contains("'relu'"));
        var mapsOnTokens = () => OnnxEncoder.Describe(Context(path), Options(layout: OutputLayout.Maps), path);
        mapsOnTokens.Should().Throw<ComponentConfigurationException>().Where(e => e.Message.Contains("not maps (B, C, h, w)"));
    }

    [Fact]
    public void Bgr_order_and_input_scale_reach_the_graph()
    {
        var path = TinyPatchModel.Write(folder, "tiny.onnx", TinyPatchModel.Build("batch", 8));
        var reference = TinyPatchModel.Build("batch", 8, true, TinyPatchModel.Relu);
        using var scope = NewDisposeScope();
        var images = Images(2, 8);
        var expected = OnnxReference.Run(reference, TinyPatchModel.Input, (Normalized(images) * 255).flip(1), TinyPatchModel.Relu);
        var options = Options(TinyPatchModel.Relu);
        options.InputScale = 255;
        options.ChannelOrder = "bgr";

        using var encoder = Encoder(path, options);

        (encoder.Encode(images) - expected).abs().max().item<float>().Should().BeLessThan(1e-4f);
    }

    [Fact]
    public void A_fixed_shape_graph_with_free_shape_takes_any_batch_and_size_as_a_dynamic_export_computes_it()
    {
        var path = TinyPatchModel.Write(folder, "fixed.onnx", TinyPatchModel.Build(1, 8));
        var refused = () => OnnxEncoder.Describe(Context(path), Options(TinyPatchModel.Relu, inputSize: 12), path);
        refused.Should().Throw<ComponentConfigurationException>()
            .Where(e => e.OptionKey == "input_size" && e.Message.Contains("free_shape: true") && e.Message.Contains(path));

        // The same weights exported with symbolic sizes are the reference.
        var dynamic = TinyPatchModel.Build("batch", null, true, TinyPatchModel.Relu);
        using var scope = NewDisposeScope();
        var images = Images(3, 12);
        var expected = OnnxReference.Run(dynamic, TinyPatchModel.Input, Normalized(images), TinyPatchModel.Relu);
        var options = Options(TinyPatchModel.Relu, inputSize: 12);
        options.FreeShape = true;

        OnnxEncoder.Describe(Context(path), options, path).Latent.Should().Be(new LatentShape(TinyPatchModel.Channels, 6, 6));
        using var encoder = Encoder(path, options);
        var latents = encoder.Encode(images);

        latents.shape.Should().Equal(3, TinyPatchModel.Channels, 6, 6);
        (latents - expected).abs().max().item<float>().Should().BeLessThan(1e-6f);
    }

    [Fact]
    public void Freeing_the_input_names_its_sizes_and_drops_the_declared_inner_shapes()
    {
        var model = TinyPatchModel.Build(1, 8);
        var graph = OnnxGraph.Parse(model, "fixed.onnx");
        graph.Declared(TinyPatchModel.Relu)!.ShapeText.Should().Be("[1, 4, 4, 4]");

        var edited = OnnxGraph.Parse(graph.FetchOnly(model, TinyPatchModel.Relu, TinyPatchModel.Input), "edited.onnx");

        edited.Inputs.Single().ShapeText.Should().Be("[batch, 3, height, width]");
        edited.Outputs.Single().Name.Should().Be(TinyPatchModel.Relu);
        edited.Outputs.Single().ElementType.Should().Be(OnnxValue.Float32);
        edited.Outputs.Single().Dimensions.Should().BeNull("the fixed shape the file declared no longer holds");
        edited.Declared(TinyPatchModel.Conv).Should().BeNull();
    }

    [Fact]
    public void A_preprocessing_graph_of_a_fixed_size_runs_at_it_and_its_output_is_resized_to_the_input_size()
    {
        // Preprocessing: (1, 3, 6, 6) pixels minus a 6 x 6 mean image, batch fixed at 1 (like ML.NET's ResNet graph).
        var meanImage = Enumerable.Range(0, 3 * 6 * 6).Select(i => (float)Math.Sin(i)).ToArray();
        var preprocess = new OnnxModelBuilder().Input("pixels", 1, 3, 6, 6)
            .Initializer("mean_image", [1, 3, 6, 6], meanImage)
            .Node("Sub", "subtract_mean", ["pixels", "mean_image"], ["prepared"])
            .Output("prepared", 1, 3, 6, 6).Build();
        var preprocessPath = TinyPatchModel.Write(folder, "preprocess.onnx", preprocess);
        var path = TinyPatchModel.Write(folder, "tiny.onnx", TinyPatchModel.Build("batch", 8));
        using var scope = NewDisposeScope();
        var images = Images(2, 10);
        var prepared = Normalized(ImageResize.Bicubic(images, 6, 6, antialias: false)) - tensor(meanImage).view(1, 3, 6, 6);
        var reference = TinyPatchModel.Build("batch", 8, true, TinyPatchModel.Relu);
        var expected = OnnxReference.Run(reference, TinyPatchModel.Input, ImageResize.Bicubic(prepared, 8, 8, antialias: false), TinyPatchModel.Relu);
        var options = Options(TinyPatchModel.Relu);
        options.Preprocess = preprocessPath;

        using var encoder = Encoder(path, options);

        encoder.InputSize.Should().Be(8, "the model's size; the preprocessing graph's own size only sets where it runs");
        (encoder.Encode(images) - expected).abs().max().item<float>().Should().BeLessThan(1e-5f);
    }

    [Fact]
    public void A_freed_graph_that_needs_its_fixed_batch_fails_naming_the_file_the_value_and_free_shape()
    {
        // Conv, then a Reshape to the constant shape (1, -1, C): right for the export's batch of 1, wrong for any other.
        var model = new OnnxModelBuilder().Input(TinyPatchModel.Input, 1, 3, 8, 8)
            .Initializer("conv.weight", [TinyPatchModel.Channels, 3, 2, 2], Enumerable.Repeat(0.1f, TinyPatchModel.Channels * 12).ToArray())
            .Initializer("one_row", [3], [1L, -1L, TinyPatchModel.Channels])
            .Node("Conv", "conv_node", [TinyPatchModel.Input, "conv.weight"], [TinyPatchModel.Conv],
                ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }))
            .Node("Reshape", "to_one_row", [TinyPatchModel.Conv, "one_row"], ["row"])
            .Output("row", 1, 16, TinyPatchModel.Channels).Build();
        var path = TinyPatchModel.Write(folder, "one-row.onnx", model);
        var options = Options("row", layout: OutputLayout.Tokens);
        options.FreeShape = true;
        using var scope = NewDisposeScope();

        var act = () =>
        {
            using var encoder = Encoder(path, options);
            encoder.Encode(Images(2, 8));
        };

        act.Should().Throw<InvalidOperationException>()
            .Where(e => e.Message.Contains(path) && e.Message.Contains("'row'") && e.Message.Contains("free_shape is on"));
    }
}
