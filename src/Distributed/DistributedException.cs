namespace RaePipeline.Distributed;

/// <summary>A collective or the transport under it failed on this rank; the message names the rank and the operation.</summary>
public class DistributedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A collective waited longer than the timeout (<c>RAE_DIST_TIMEOUT</c>) for the other ranks; the message says
/// which ranks did not answer and where those that did are waiting.
/// </summary>
public sealed class CollectiveTimeoutException(string message) : DistributedException(message);
