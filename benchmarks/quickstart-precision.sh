#!/usr/bin/env bash
# Runs pipelines/quickstart.yaml in fp32 and in bf16 (same seed, everything else equal) and prints the Fréchet
# distances of both runs and their relative deviation; issue 11 asks |FD_bf16 - FD_fp32| / FD_fp32 <= 0.10.
#   benchmarks/quickstart-precision.sh [RUNS_FOLDER] [extra rae args, e.g. --set jobs.train.steps=200]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs/quickstart-precision}
shift || true
dotnet build src/Host -c Release -v quiet -nologo >/dev/null
rae=src/Host/bin/Release/net10.0/linux-x64/rae
mkdir -p "$runs"
for precision in fp32 bf16; do
  start=$(date +%s)
  "$rae" run pipelines/quickstart.yaml --run-dir "$runs/$precision" --set precision=$precision "$@" > "$runs/$precision.log" 2>&1 \
    || { echo "the $precision run failed, see $runs/$precision.log" >&2; exit 1; }
  echo "$precision: $(( $(date +%s) - start )) s"
done
python3 - "$runs" <<'PY'
import json, sys
runs = sys.argv[1]
fp32, bf16 = (json.load(open(f"{runs}/{p}/metrics.json")) for p in ("fp32", "bf16"))
worst = 0.0
for key in sorted(k for k in fp32 if k.startswith("eval/") and "/fd" in k):
    deviation = abs(bf16[key] - fp32[key]) / fp32[key]
    worst = max(worst, deviation)
    print(f"{key:32} fp32 {fp32[key]:10.5f}  bf16 {bf16[key]:10.5f}  |bf16 - fp32| / fp32 = {deviation:6.2%}")
print(f"worst relative deviation {worst:.2%} (target <= 10%): {'met' if worst <= 0.10 else 'NOT met'}")
sys.exit(0 if worst <= 0.10 else 1)
PY
