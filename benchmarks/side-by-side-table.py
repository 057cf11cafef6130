#!/usr/bin/python3
"""The side-by-side table of benchmarks/side-by-side.sh: medians over runs of ref_bench.py (fp32) and
benchmarks/Backbones (fp32, bf16) results, and the ratios ours / reference fp32 with the issue's targets.

usage: side-by-side-table.py DIR   (DIR holds ref-N.json and ours-N.json)
"""
import glob
import json
import os
import statistics
import sys

ROWS = [("fwd_ms", "forward"), ("train_ms", "fwd + bwd + AdamW"), ("sample_ms", "50-step CFG sample")]
# acceptance targets of issue 11 (ours / reference fp32): (model, key, precision) -> max ratio
TARGETS = {
    ("DiTDH-S", "fwd_ms", "fp32"): 0.95,
    ("DiTDH-S", "train_ms", "bf16"): 0.7, ("LightningDiT-B", "train_ms", "bf16"): 0.7,
    ("DiTDH-S", "sample_ms", "bf16"): 0.55, ("LightningDiT-B", "sample_ms", "bf16"): 0.55,
}


def load(pattern):
    docs = [json.load(open(p)) for p in sorted(glob.glob(pattern))]
    values = {}
    for doc in docs:
        for r in doc["results"]:
            for key, _ in ROWS:
                if r.get(key) is not None:
                    values.setdefault((r["name"], r.get("precision", "fp32"), key), []).append(r[key])
    return docs, values


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "."
    ref_docs, ref = load(os.path.join(folder, "ref-*.json"))
    our_docs, ours = load(os.path.join(folder, "ours-*.json"))
    if not ref_docs or not our_docs:
        sys.exit("no ref-*.json / ours-*.json in %s" % folder)
    med = statistics.median
    print("runs: %d of ref_bench.py, %d of ours; medians of each run's median" % (len(ref_docs), len(our_docs)))
    print("fp32 matmul 2048^3: reference %s GFLOP/s, ours %s GFLOP/s; ours bf16 %s GFLOP/s; CPU bf16 instructions: %s" % (
        ", ".join("%.0f" % d["matmul_gflops"] for d in ref_docs),
        ", ".join("%.0f" % d["matmul_gflops"] for d in our_docs),
        ", ".join("%.1f" % d["matmul_bf16_gflops"] for d in our_docs if d.get("matmul_bf16_gflops")) or "-",
        our_docs[0].get("cpu_bf16_instructions")))
    print()
    print("| model | work | reference fp32 ms | ours fp32 ms | ratio | ours bf16 ms | ratio | target |")
    print("|---|---|---|---|---|---|---|---|")
    models = list(dict.fromkeys(k[0] for k in ref))
    failures = checked = 0
    for model in models:
        for key, label in ROWS:
            base = ref.get((model, "fp32", key))
            if not base:
                continue
            cells = [model, label, "%.0f" % med(base)]
            target_text = []
            for precision in ("fp32", "bf16"):
                mine = ours.get((model, precision, key))
                if not mine:
                    cells += ["-", "-"]
                    continue
                ratio = med(mine) / med(base)
                cells += ["%.0f" % med(mine), "%.2f" % ratio]
                target = TARGETS.get((model, key, precision))
                if target is not None:
                    ok = ratio <= target
                    checked += 1
                    failures += not ok
                    target_text.append("%s <= %.2f %s" % (precision, target, "met" if ok else "NOT met"))
            cells.append("; ".join(target_text) or "-")
            print("| " + " | ".join(cells) + " |")
    print()
    print("targets checked: %d, met: %d, not met: %d" % (checked, checked - failures, failures))


if __name__ == "__main__":
    main()
