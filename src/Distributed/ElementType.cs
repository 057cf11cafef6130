using static TorchSharp.torch;

namespace RaePipeline.Distributed;

/// <summary>The element types a <see cref="Communicator"/> reduces natively; everything else travels as bytes.</summary>
public enum ElementType
{
    Float32,
    Float64,
    Int32,
    Int64,
    UInt8,
}

static class ElementTypes
{
    /// <summary>The element type of <paramref name="dtype"/> for a reduction, or null when it has none (bf16, fp16, bool, ...).</summary>
    public static ElementType? For(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => ElementType.Float32,
        ScalarType.Float64 => ElementType.Float64,
        ScalarType.Int32 => ElementType.Int32,
        ScalarType.Int64 => ElementType.Int64,
        ScalarType.Byte => ElementType.UInt8,
        _ => null,
    };

    public static int Size(this ElementType type) => type switch
    {
        ElementType.Float32 or ElementType.Int32 => 4,
        ElementType.Float64 or ElementType.Int64 => 8,
        _ => 1,
    };
}
