using RaePipeline.Encoders.Onnx.Protobuf;

namespace RaePipeline.Encoders.Onnx;

/// <summary>One dimension of a declared shape: a size, or symbolic (named, or unnamed as "?").</summary>
public readonly record struct OnnxDimension(long? Size, string? Symbol)
{
    public override string ToString() => Size?.ToString() ?? Symbol ?? "?";
}

/// <summary>A value of an ONNX graph: its name, element type (ONNX TensorProto.DataType) and shape when declared.</summary>
/// <param name="Dimensions">null when the graph declares no shape.</param>
public sealed record OnnxValue(string Name, int ElementType, OnnxDimension[]? Dimensions)
{
    public const int Float32 = 1;

    /// <summary>True when every dimension after the batch is a number.</summary>
    public bool HasStaticSample => Dimensions is { Length: > 0 } d && d.Skip(1).All(x => x.Size.HasValue);

    public string ShapeText => Dimensions == null ? "unknown shape" : "[" + string.Join(", ", Dimensions) + "]";
}

/// <summary>
/// A node of the main graph: its name (may be empty), operator, input and output value names, and whether an
/// attribute holds a subgraph (If, Loop, Scan), which may read outer values its inputs do not list.
/// </summary>
public sealed record OnnxNode(string Name, string OpType, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs, bool HasSubgraph);

/// <summary>
/// What the plugin reads of an ONNX ModelProto: the main graph's inputs (initializers excluded), declared outputs,
/// nodes, and the shapes the file declares (graph inputs, outputs and value_info). Field numbers are onnx.proto's.
/// </summary>
public sealed class OnnxGraph
{
    // ModelProto
    const int ModelGraph = 7;
    // GraphProto
    const int GraphNode = 1, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12, GraphValueInfo = 13;
    // NodeProto
    const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5;
    // AttributeProto: a graph (g) or graphs
    const int AttributeGraph = 6, AttributeGraphs = 11;
    // TensorProto
    const int TensorName = 8;
    // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, TensorShapeProto.Dimension
    const int ValueName = 1, ValueType = 2, TypeTensor = 1, TensorElementType = 1, TensorShape = 2, ShapeDim = 1,
        DimValue = 1, DimParam = 2;

    readonly Dictionary<string, OnnxValue> shapes = new(StringComparer.Ordinal);
    readonly Dictionary<string, byte[]> valueInfos = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> producers = new(StringComparer.Ordinal); // value -> index of the node computing it

    OnnxGraph(string path) => Path = path;

    /// <summary>The model file, for messages.</summary>
    public string Path { get; }

    /// <summary>Inputs fed at run time (graph inputs that are not initializers).</summary>
    public IReadOnlyList<OnnxValue> Inputs { get; private set; } = [];

    public IReadOnlyList<OnnxValue> Outputs { get; private set; } = [];

    public IReadOnlyList<OnnxNode> Nodes { get; private set; } = [];

    /// <summary>Parses <paramref name="model"/> (the bytes of <paramref name="path"/>).</summary>
    public static OnnxGraph Parse(ReadOnlyMemory<byte> model, string path)
    {
        var graph = new OnnxGraph(path);
        ReadOnlyMemory<byte>? graphBytes = null;
        foreach (var field in ProtoReader.Fields(model))
            if (field.Number == ModelGraph && field.Type == WireType.LengthDelimited) graphBytes = field.Bytes;
        if (graphBytes == null) throw new InvalidDataException("no graph (ModelProto field 7)");

        var initializers = new HashSet<string>(StringComparer.Ordinal);
        var inputs = new List<OnnxValue>();
        var outputs = new List<OnnxValue>();
        var nodes = new List<OnnxNode>();
        foreach (var field in ProtoReader.Fields(graphBytes.Value))
        {
            if (field.Type != WireType.LengthDelimited) continue;
            switch (field.Number)
            {
                case GraphNode:
                    nodes.Add(ReadNode(field.Bytes));
                    break;
                case GraphInitializer:
                    initializers.Add(NameOf(field.Bytes, TensorName));
                    break;
                case GraphInput:
                    inputs.Add(ReadValue(field.Bytes));
                    break;
                case GraphOutput:
                    outputs.Add(ReadValue(field.Bytes));
                    break;
                case GraphValueInfo:
                    var value = ReadValue(field.Bytes);
                    graph.valueInfos[value.Name] = field.Bytes.ToArray(); // a copy: the model's bytes are not kept
                    graph.shapes[value.Name] = value;
                    break;
            }
        }
        if (nodes.Count == 0) throw new InvalidDataException("the graph has no nodes");
        foreach (var value in inputs.Concat(outputs)) graph.shapes[value.Name] = value;
        for (int i = 0; i < nodes.Count; i++)
            foreach (var output in nodes[i].Outputs)
                if (output.Length > 0) graph.producers.TryAdd(output, i);
        graph.Inputs = inputs.Where(i => !initializers.Contains(i.Name)).ToList();
        graph.Outputs = outputs;
        graph.Nodes = nodes;
        return graph;
    }

    /// <summary>Names of every value a node computes, in graph order.</summary>
    public IEnumerable<string> ComputedValues => Nodes.SelectMany(n => n.Outputs).Where(o => o.Length > 0);

    /// <summary>The declared shape of a value (input, output or value_info), or null when the file declares none.</summary>
    public OnnxValue? Declared(string value) => shapes.GetValueOrDefault(value);

    /// <summary>
    /// The value named by <paramref name="nodeOrValue"/>: a value a node computes (e.g. <c>ReLU347_Output_0</c>,
    /// <c>/blocks.11/Add_1_output_0</c>), or the name of a node with one output (e.g. <c>/blocks.11/Add_1</c>).
    /// Unknown names fail with the closest names of the graph.
    /// </summary>
    public string ResolveValue(string nodeOrValue, string optionKey)
    {
        if (producers.ContainsKey(nodeOrValue)) return nodeOrValue;
        var byName = Nodes.Where(n => n.Name == nodeOrValue).ToList();
        if (byName.Count == 1)
        {
            var outputs = byName[0].Outputs.Where(o => o.Length > 0).ToList();
            if (outputs.Count == 1) return outputs[0];
            throw new Abstractions.ComponentConfigurationException(
                $"{Path}: node '{nodeOrValue}' ({byName[0].OpType}) has {outputs.Count} outputs; name one of them: {string.Join(", ", outputs)}",
                optionKey, Path);
        }
        var names = ComputedValues.Concat(Nodes.Select(n => n.Name).Where(n => n.Length > 0)).Distinct(StringComparer.Ordinal);
        var close = CloseNames.Nearest(nodeOrValue, names, 6);
        throw new Abstractions.ComponentConfigurationException(
            $"{Path}: the graph has no node or value '{nodeOrValue}'" +
            (close.Count > 0 ? $"; closest: {string.Join(", ", close)}" : "") +
            $" (declared outputs: {string.Join(", ", Outputs.Select(o => o.Name))}; {Nodes.Count} nodes)",
            optionKey, Path);
    }

    /// <summary>
    /// The model reduced to fetching <paramref name="value"/>: it becomes the graph's only output (with its value_info
    /// entry when the file has one, so ONNX Runtime keeps the declared type) and only the nodes it depends on stay
    /// (all of them when a node holds a subgraph), with the initializers and inputs they read; every other field is copied
    /// unchanged. ONNX Runtime fetches only graph outputs and runs every node of a graph: this makes an inner value
    /// fetchable and skips the work after it.
    /// With <paramref name="freeInput"/>, that input's sizes other than its channels (dimension 1) become symbolic
    /// (<c>batch</c>, <c>height</c>, <c>width</c>) and every declared inner shape is dropped, so ONNX Runtime infers
    /// them again: a fully convolutional graph exported with fixed sizes then takes any batch and image size.
    /// </summary>
    public byte[] FetchOnly(ReadOnlyMemory<byte> model, string value, string? freeInput = null)
    {
        var needed = NodesNeededFor(value);
        bool pruned = needed.Contains(false);
        var read = Nodes.Where((_, i) => needed[i]).SelectMany(n => n.Inputs).ToHashSet(StringComparer.Ordinal);
        // Initializers and inputs no kept node reads go too: ONNX Runtime refuses dangling initializers (IR 3 files
        // also list them as graph inputs) and asks for every graph input to be fed.
        bool Read(ReadOnlyMemory<byte> entry, int nameField) => !pruned || read.Contains(NameOf(entry, nameField));
        var writer = new ProtoWriter();
        foreach (var field in ProtoReader.Fields(model))
        {
            if (field.Number != ModelGraph || field.Type != WireType.LengthDelimited)
            {
                writer.Field(field);
                continue;
            }
            var graph = new ProtoWriter();
            int node = 0;
            foreach (var graphField in ProtoReader.Fields(field.Bytes))
            {
                bool keep = graphField.Number switch
                {
                    GraphNode => needed[node++],
                    GraphOutput => false,
                    GraphInitializer => Read(graphField.Bytes, TensorName),
                    GraphInput => Read(graphField.Bytes, ValueName),
                    GraphValueInfo => freeInput == null,
                    _ => true,
                };
                if (!keep) continue;
                if (graphField.Number == GraphInput && freeInput != null && NameOf(graphField.Bytes, ValueName) == freeInput)
                    graph.Message(GraphInput, FreeSizes(ReadValue(graphField.Bytes)));
                else graph.Field(graphField);
            }
            if (freeInput != null) graph.Message(GraphOutput, Unshaped(value, Declared(value)?.ElementType ?? 0));
            else if (valueInfos.TryGetValue(value, out var info)) graph.Bytes(GraphOutput, info);
            else graph.Message(GraphOutput, new ProtoWriter().String(ValueName, value));
            writer.Message(ModelGraph, graph);
        }
        return writer.ToArray();
    }

    /// <summary>A ValueInfoProto of <paramref name="input"/> whose dimensions, but the channels, are named instead of sized.</summary>
    static ProtoWriter FreeSizes(OnnxValue input)
    {
        string[] names = ["batch", "channels", "height", "width"];
        var shape = new ProtoWriter();
        var dimensions = input.Dimensions ?? [];
        for (int i = 0; i < dimensions.Length; i++)
        {
            var dimension = new ProtoWriter();
            if (i == 1 && dimensions[i].Size is { } channels) dimension.Varint(DimValue, channels);
            else dimension.String(DimParam, i < names.Length ? names[i] : $"dim{i}");
            shape.Message(ShapeDim, dimension);
        }
        var tensor = new ProtoWriter().Varint(TensorElementType, input.ElementType);
        if (input.Dimensions != null) tensor.Message(TensorShape, shape);
        return new ProtoWriter().String(ValueName, input.Name)
            .Message(ValueType, new ProtoWriter().Message(TypeTensor, tensor));
    }

    /// <summary>A ValueInfoProto naming <paramref name="value"/> with its element type (when known) and no shape.</summary>
    static ProtoWriter Unshaped(string value, int elementType)
    {
        var info = new ProtoWriter().String(ValueName, value);
        return elementType > 0
            ? info.Message(ValueType, new ProtoWriter().Message(TypeTensor, new ProtoWriter().Varint(TensorElementType, elementType)))
            : info;
    }

    /// <summary>Which nodes computing <paramref name="value"/> runs, in graph order.</summary>
    bool[] NodesNeededFor(string value)
    {
        var needed = new bool[Nodes.Count];
        if (Nodes.Any(n => n.HasSubgraph))
        {
            Array.Fill(needed, true);
            return needed;
        }
        var pending = new Stack<string>([value]);
        while (pending.TryPop(out var current))
        {
            if (!producers.TryGetValue(current, out int index) || needed[index]) continue;
            needed[index] = true;
            foreach (var input in Nodes[index].Inputs)
                if (input.Length > 0) pending.Push(input);
        }
        return needed;
    }

    static string NameOf(ReadOnlyMemory<byte> message, int nameField) =>
        ProtoReader.Fields(message).Where(f => f.Number == nameField && f.Type == WireType.LengthDelimited)
            .Select(f => f.Text).FirstOrDefault() ?? "";

    static OnnxNode ReadNode(ReadOnlyMemory<byte> bytes)
    {
        string name = "", opType = "";
        var inputs = new List<string>();
        var outputs = new List<string>();
        bool hasSubgraph = false;
        foreach (var f in ProtoReader.Fields(bytes))
        {
            if (f.Type != WireType.LengthDelimited) continue;
            if (f.Number == NodeInput) inputs.Add(f.Text);
            else if (f.Number == NodeOutput) outputs.Add(f.Text);
            else if (f.Number == NodeName) name = f.Text;
            else if (f.Number == NodeOpType) opType = f.Text;
            else if (f.Number == NodeAttribute)
                hasSubgraph |= ProtoReader.Fields(f.Bytes).Any(a => a.Number is AttributeGraph or AttributeGraphs && a.Type == WireType.LengthDelimited);
        }
        return new OnnxNode(name, opType, inputs, outputs, hasSubgraph);
    }

    static OnnxValue ReadValue(ReadOnlyMemory<byte> bytes)
    {
        string name = "";
        int elementType = 0;
        OnnxDimension[]? dimensions = null;
        foreach (var f in ProtoReader.Fields(bytes))
        {
            if (f.Number == ValueName && f.Type == WireType.LengthDelimited) name = f.Text;
            if (f.Number != ValueType || f.Type != WireType.LengthDelimited) continue;
            foreach (var type in ProtoReader.Fields(f.Bytes))
            {
                if (type.Number != TypeTensor || type.Type != WireType.LengthDelimited) continue;
                foreach (var tensor in ProtoReader.Fields(type.Bytes))
                {
                    if (tensor.Number == TensorElementType && tensor.Type == WireType.Varint) elementType = (int)tensor.Varint;
                    if (tensor.Number == TensorShape && tensor.Type == WireType.LengthDelimited)
                        dimensions = ProtoReader.Fields(tensor.Bytes).Where(d => d.Number == ShapeDim && d.Type == WireType.LengthDelimited)
                            .Select(d => ReadDimension(d.Bytes)).ToArray();
                }
            }
        }
        return new OnnxValue(name, elementType, dimensions);
    }

    static OnnxDimension ReadDimension(ReadOnlyMemory<byte> bytes)
    {
        long? size = null;
        string? symbol = null;
        foreach (var f in ProtoReader.Fields(bytes))
        {
            if (f.Number == DimValue && f.Type == WireType.Varint && f.Int64 > 0) size = f.Int64;
            if (f.Number == DimParam && f.Type == WireType.LengthDelimited) symbol = f.Text;
        }
        return new OnnxDimension(size, symbol);
    }
}
