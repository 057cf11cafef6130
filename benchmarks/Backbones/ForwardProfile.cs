using System.Diagnostics;
using System.Globalization;
using RaePipeline.Abstractions;
using RaePipeline.Backbones.DiffusionTransformers;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace RaePipeline.Benchmarks;

/// <summary>
/// Where a no-grad forward's time goes: the whole forward, then each kind of operation it runs (every Linear shape,
/// the attention, RoPE, RMSNorm, modulation), timed alone at the forward's shapes and counts, as a share of it.
/// Single-threaded runs use the process's CPU time, which a shared machine disturbs far less than wall time.
/// The reference's counterpart is benchmarks/ref-profile.py (torch.profiler over a forward of shared/bench's model).
/// </summary>
static class ForwardProfile
{
    public static void Run(string name, DiffusionTransformerSpec spec, nn.Module<Tensor, Tensor, Tensor, Tensor> module,
        long batch, Precision precision, int repeats, Action<string> log)
    {
        bool cpuTime = torch.get_num_threads() == 1;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var precisionScope = ComputePrecision.Use(precision, cacheWeights: true);
        module.eval();
        var x = randn(spec.Latent.WithBatch(batch));
        var t = rand(batch);
        var y = randint(0, spec.NumClasses, [batch]);
        double Measure(Action action)
        {
            action();
            var times = new List<double>();
            for (int i = 0; i < repeats; i++)
            {
                using var inner = NewDisposeScope();
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var wall = Stopwatch.StartNew();
                action();
                times.Add(cpuTime ? (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds : wall.Elapsed.TotalSeconds);
            }
            return BenchmarkClock.Median(times);
        }

        double forward = Measure(() => module.forward(x, t, y));
        var rows = new List<(string What, int Count, double Seconds)>();
        long tokens = spec.Grid * spec.Grid, rowsPerToken = batch * tokens;
        var stacks = new List<(TransformerSize Size, bool PerToken)> { (spec.Backbone, false) };
        if (spec.Head is not null) stacks.Add((spec.Head, true));

        var linears = new Dictionary<(long M, long K, long N), int>();
        void Linear(long m, long k, long n, int count) => linears[(m, k, n)] = linears.GetValueOrDefault((m, k, n)) + count;
        long c = (long)spec.InChannels * spec.PatchSize * spec.PatchSize;
        foreach (var (size, perToken) in stacks)
        {
            long d = size.HiddenSize;
            Linear(rowsPerToken, d, 3 * d, size.Depth);
            Linear(rowsPerToken, d, d, size.Depth);
            Linear(perToken ? rowsPerToken : batch, d, 6 * d, size.Depth);
            Linear(rowsPerToken, c, d, 1);                                            // patch embedding(s)
        }
        long last = stacks[^1].Size.HiddenSize;
        if (spec.Head is not null && spec.Backbone.HiddenSize != last) Linear(rowsPerToken, spec.Backbone.HiddenSize, last, 1);
        Linear(spec.Head is null ? batch : rowsPerToken, last, 2 * last, 1);         // final adaLN
        Linear(rowsPerToken, last, c, 1);                                             // final linear
        foreach (var ((m, k, n), count) in linears)
        {
            var input = ComputePrecision.Input(randn(m, k));
            var weight = ComputePrecision.Weight(randn(n, k) * 0.02);
            var bias = ComputePrecision.Weight(randn(n));
            rows.Add(($"linear [{m}x{k}] -> {n}", count, count * Measure(() => F.linear(input, weight, bias))));
        }
        foreach (var (size, perToken) in stacks)
        {
            long d = size.HiddenSize, heads = size.NumHeads, hd = d / heads;
            var type = ComputePrecision.ComputeType;
            var q = randn(batch, heads, tokens, hd).to(type);
            string stack = perToken ? "head" : "backbone";
            rows.Add(($"attention (SDPA) {stack} ({batch},{heads},{tokens},{hd})", size.Depth, size.Depth * Measure(() => F.scaled_dot_product_attention(q, q, q))));
            var rope = new RotaryEmbedding2D(hd, spec.Grid);
            // q and k as strided views of a fused qkv output, as the attention feeds them
            var qk = randn(batch, tokens, 3 * d).to(type).view(batch, tokens, 3, heads, hd).permute(2, 0, 3, 1, 4)[TensorIndex.Slice(0, 2)];
            rows.Add(($"RoPE q,k {stack}", size.Depth, size.Depth * Measure(() => rope.Apply(qk))));
            long hidden = SwiGLUFFN.HiddenWidth(d, spec.MlpRatio);
            var ffn = new SwiGLUFFN(d, hidden);
            var tokensIn = randn(batch, tokens, d).to(type);
            rows.Add(($"SwiGLU FFN {stack} {d} -> 2x{hidden} -> {d}", size.Depth, size.Depth * Measure(() => ffn.forward(tokensIn))));
            var norm = new RMSNorm(d);
            var residual = randn(batch, tokens, d);
            rows.Add(($"RMSNorm {stack} ({batch},{tokens},{d})", 2 * size.Depth, 2 * size.Depth * Measure(() => norm.forward(residual))));
            var normalized = norm.forward(residual);
            var shift = randn(batch, perToken ? tokens : 1, d).to(type);
            rows.Add(($"modulate + gated residual {stack}", 2 * size.Depth, 2 * size.Depth * Measure(() =>
                torch.addcmul(residual, shift, normalized * (shift + 1) + shift, 1))));
        }

        double accounted = rows.Sum(r => r.Seconds);
        log(string.Create(CultureInfo.InvariantCulture,
            $"profile {name} {precision.Name()} batch {batch}, {torch.get_num_threads()} threads ({(cpuTime ? "CPU time" : "wall time")}): forward {1e3 * forward:F0} ms"));
        foreach (var (what, count, seconds) in rows.OrderByDescending(r => r.Seconds))
            log(string.Create(CultureInfo.InvariantCulture, $"  {what,-46} x{count,-3} {1e3 * seconds,8:F0} ms {100 * seconds / forward,5:F1}%"));
        log(string.Create(CultureInfo.InvariantCulture,
            $"  {"everything else (embeddings, copies, ...)",-46}      {1e3 * (forward - accounted),8:F0} ms {100 * (forward - accounted) / forward,5:F1}%"));
    }
}
