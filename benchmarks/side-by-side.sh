#!/usr/bin/env bash
# Runs shared/bench/ref_bench.py (PyTorch 1.13 + OpenBLAS, fp32) and benchmarks/Backbones (fp32 and bf16) on the
# same models, alternating them, N times, then prints the table of medians and ratios (ours / reference fp32).
#
#   benchmarks/side-by-side.sh [--runs 3] [--models DiTDH-S,LightningDiT-B] [--out DIR] [--python /usr/bin/python3]
#                              [--ref ../shared/bench/ref_bench.py] [--blas-dir DIR] [--precision fp32|bf16|both]
#                              [--clock wall|cpu]
#                              [options for both benchmarks:
#                              --batch 8 --repeats 3 --train-repeats 3 --sample-repeats 1 --sample-steps-limit 8
#                              --full-sample-max-s 90 --threads N]
#
# Needs Debian's python3-torch and OpenBLAS for the reference (apt-get install -y python3-torch libopenblas0-openmp,
# or --blas-dir, see ref_bench.py --help) and the .NET SDK. Run it on an idle machine: both sides use every core.
# On a shared machine, pin one core and time CPU work instead of wall time (both sides, the reference through
# benchmarks/ref-bench-cpu-clock.py):
#   OMP_NUM_THREADS=1 taskset -c 0 benchmarks/side-by-side.sh --threads 1 --clock cpu --precision fp32
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=3
models="DiTDH-S,LightningDiT-B"
out="$repo/runs/side-by-side-$(date +%Y%m%d-%H%M%S)"
python=/usr/bin/python3
ref="$repo/../shared/bench/ref_bench.py"
ref_only=()
precision=both   # ours; fp32 alone on CPUs without bf16 instructions, where bf16 runs at about 0.4 GFLOP/s
clock=wall
common=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --precision) precision="$2"; shift 2 ;;
    --clock) clock="$2"; shift 2 ;;
    --ref) ref="$2"; shift 2 ;;
    --blas-dir|--openblas-coretype) ref_only+=("$1" "$2"); shift 2 ;;
    --batch|--repeats|--train-repeats|--warmup|--sample-repeats|--sample-steps-limit|--full-sample-max-s|--threads|--steps|--cfg-scale)
      common+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "side-by-side: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -f "$ref" ]] || { echo "side-by-side: reference benchmark not found: $ref (use --ref)" >&2; exit 2; }
case "$clock" in
  wall) ref_cmd=("$ref") ;;
  cpu) ref_cmd=("$repo/benchmarks/ref-bench-cpu-clock.py" --ref "$ref") ;;
  *) echo "side-by-side: --clock $clock: expected wall or cpu" >&2; exit 2 ;;
esac
"$python" -c "import torch" 2>/dev/null || {
  echo "side-by-side: $python cannot import torch: apt-get install -y python3-torch libopenblas0-openmp" >&2; exit 2; }
mkdir -p "$out"

echo "building benchmarks/Backbones (Release)"
dotnet build "$repo/benchmarks/Backbones" -c Release -nologo -v:q >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
ours_dll="$repo/benchmarks/Backbones/bin/Release/net10.0/linux-x64/RaePipeline.Backbones.Benchmarks.dll"

run_ref() {
  echo "run $1/$runs: ref_bench.py (fp32) -> $out/ref-$1.json"
  "$python" "${ref_cmd[@]}" bench --models "$models" "${common[@]}" "${ref_only[@]}" --json "$out/ref-$1.json" >"$out/ref-$1.log" 2>&1 \
    || { tail -20 "$out/ref-$1.log"; exit 1; }
}
run_ours() {
  echo "run $1/$runs: RaePipeline ($precision) -> $out/ours-$1.json"
  dotnet "$ours_dll" --models "$models" --precision "$precision" --clock "$clock" "${common[@]}" --json "$out/ours-$1.json" >"$out/ours-$1.log" 2>&1 \
    || { tail -20 "$out/ours-$1.log"; exit 1; }
}
for ((i = 1; i <= runs; i++)); do
  # alternate which side goes first, so a drift of the machine's speed does not favour one side
  if (( i % 2 == 1 )); then run_ref "$i"; run_ours "$i"; else run_ours "$i"; run_ref "$i"; fi
done
"$python" "$repo/benchmarks/side-by-side-table.py" "$out" | tee "$out/table.md"
