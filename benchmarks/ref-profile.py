#!/usr/bin/python3
"""Where a no-grad forward of shared/bench/ref_bench.py's model spends its time: torch.profiler's operator table
(self CPU time per operator and input shapes) over one forward, after the forward timed alone. The counterpart of
`benchmarks/Backbones --profile 1`; run both single-threaded and pinned to compare them:

  OMP_NUM_THREADS=1 taskset -c 0 benchmarks/ref-profile.py [--ref ../shared/bench/ref_bench.py] [--models DiTDH-S]
                                                           [--batch 8] [--threads 1] [--rows 30]
"""
import argparse
import importlib.util
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--ref", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench",
                                              "ref_bench.py"))
ap.add_argument("--models", default="DiTDH-S")
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--repeats", type=int, default=3)
ap.add_argument("--rows", type=int, default=30)
args = ap.parse_args()

sys.argv = [args.ref]
spec_ = importlib.util.spec_from_file_location("ref_bench", args.ref)
ref_bench = importlib.util.module_from_spec(spec_)
spec_.loader.exec_module(ref_bench)
import torch  # noqa: E402  (after ref_bench chose its BLAS)
from torch.profiler import ProfilerActivity, profile  # noqa: E402

torch.set_num_threads(args.threads)
clock = time.process_time if args.threads == 1 else time.perf_counter
for name in args.models.split(","):
    spec = next(s for s in ref_bench.BENCH_SPECS + [ref_bench.XL_SPEC] if s["name"] == name)
    torch.manual_seed(0)
    model = ref_bench.random_init_(ref_bench.build(spec)).eval()
    B, C, G = args.batch, spec["in_channels"], spec["input_size"]
    x, t, y = torch.randn(B, C, G, G), torch.rand(B), torch.randint(0, spec["num_classes"], (B,))
    with torch.no_grad():
        model(x, t, y)
        times = []
        for _ in range(args.repeats):
            start = clock()
            model(x, t, y)
            times.append(clock() - start)
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            model(x, t, y)
    print("profile %s fp32 batch %d, %d threads (%s): forward %.0f ms (median of %s ms); operator table (profiled "
          "forward, with the profiler's overhead):" % (
              name, B, args.threads, "CPU time" if args.threads == 1 else "wall time", 1e3 * sorted(times)[len(times) // 2],
              ", ".join("%.0f" % (1e3 * v) for v in times)))
    print(prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=args.rows,
                                                              max_name_column_width=30, max_shapes_column_width=70))
