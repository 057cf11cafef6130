using RaePipeline.Distributed;

namespace RaePipeline.Evaluation;

/// <summary>
/// Where <c>eval</c> keeps a set's features batch by batch (a <see cref="ChunkStore"/>), which part of the set this
/// process computes, and whether it only merges the chunks the shards of an array job wrote.
/// </summary>
public sealed record FeatureChunks(ChunkStore Store, ShardSelection Selection, ProcessGroup Group, bool Merge);
