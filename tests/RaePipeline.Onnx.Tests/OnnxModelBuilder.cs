using RaePipeline.Encoders.Onnx.Protobuf;

namespace RaePipeline.Onnx.Tests;

/// <summary>
/// Writes small ONNX models (ModelProto bytes, IR 8, opset 17) for the tests: float inputs/outputs whose
/// dimensions are numbers or symbolic names, float and int64 initializers, nodes with int/ints attributes.
/// </summary>
public sealed class OnnxModelBuilder
{
    const int FloatType = 1, Int64Type = 7;
    readonly ProtoWriter graph = new ProtoWriter().String(2, "test");

    public OnnxModelBuilder Input(string name, params object[] dimensions)
    {
        graph.Message(11, Value(name, dimensions));
        return this;
    }

    public OnnxModelBuilder Output(string name, params object[] dimensions)
    {
        graph.Message(12, Value(name, dimensions));
        return this;
    }

    public OnnxModelBuilder ValueInfo(string name, params object[] dimensions)
    {
        graph.Message(13, Value(name, dimensions));
        return this;
    }

    public OnnxModelBuilder Initializer(string name, long[] dimensions, float[] values) =>
        Tensor(name, dimensions, FloatType, values.SelectMany(BitConverter.GetBytes).ToArray());

    /// <summary>A float initializer whose values live in <paramref name="file"/> beside the model (ONNX external data).</summary>
    public OnnxModelBuilder ExternalInitializer(string name, long[] dimensions, float[] values, string folder, string file)
    {
        var raw = values.SelectMany(BitConverter.GetBytes).ToArray();
        File.WriteAllBytes(Path.Combine(folder, file), raw);
        var tensor = new ProtoWriter();
        foreach (var d in dimensions) tensor.Varint(1, d);
        tensor.Varint(2, FloatType).String(8, name)
            .Message(13, new ProtoWriter().String(1, "location").String(2, file))
            .Message(13, new ProtoWriter().String(1, "length").String(2, raw.Length.ToString()))
            .Varint(14, 1);
        graph.Message(5, tensor);
        return this;
    }

    public OnnxModelBuilder Initializer(string name, long[] dimensions, long[] values) =>
        Tensor(name, dimensions, Int64Type, values.SelectMany(BitConverter.GetBytes).ToArray());

    /// <summary>A node; attributes are int (long) or ints (long[]).</summary>
    public OnnxModelBuilder Node(string opType, string name, string[] inputs, string[] outputs,
        params (string Name, object Value)[] attributes)
    {
        var node = new ProtoWriter();
        foreach (var input in inputs) node.String(1, input);
        foreach (var output in outputs) node.String(2, output);
        node.String(3, name).String(4, opType);
        foreach (var (attributeName, value) in attributes)
        {
            var attribute = new ProtoWriter().String(1, attributeName);
            switch (value)
            {
                case long i:
                    attribute.Varint(3, i).Varint(20, 2);
                    break;
                case long[] ints:
                    foreach (var i in ints) attribute.Varint(8, i);
                    attribute.Varint(20, 7);
                    break;
                default:
                    throw new ArgumentException($"attribute {attributeName}: {value.GetType().Name} not supported");
            }
            node.Message(5, attribute);
        }
        graph.Message(1, node);
        return this;
    }

    public byte[] Build() =>
        new ProtoWriter()
            .Varint(1, 8)
            .String(2, "RaePipeline.Onnx.Tests")
            .Message(8, new ProtoWriter().String(1, "").Varint(2, 17))
            .Message(7, graph)
            .ToArray();

    OnnxModelBuilder Tensor(string name, long[] dimensions, int type, byte[] raw)
    {
        var tensor = new ProtoWriter();
        foreach (var d in dimensions) tensor.Varint(1, d);
        tensor.Varint(2, type).String(8, name).Bytes(9, raw);
        graph.Message(5, tensor);
        return this;
    }

    static ProtoWriter Value(string name, object[] dimensions)
    {
        var shape = new ProtoWriter();
        foreach (var d in dimensions)
            shape.Message(1, d is string symbol ? new ProtoWriter().String(2, symbol) : new ProtoWriter().Varint(1, Convert.ToInt64(d)));
        var tensorType = new ProtoWriter().Varint(1, FloatType).Message(2, shape);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }
}
