#!/bin/bash
# Peak resident memory of `rae sample` writing many 256 px images (issue 11: under 1.5 GiB for 2,000 images).
# Tiny random models (the figure is about the images, not the models). Usage:
#   benchmarks/SampleMemory/run.sh [num_images (2000)] [batch_size (16)]
# Prints the images written, the npz size and the process's peak RSS (VmHWM, from /usr/bin/time -v).
set -euo pipefail
images=${1:-2000}
batch=${2:-16}
configuration=${CONFIGURATION:-Release}
root=$(cd "$(dirname "$0")/../.." && pwd)
dotnet build "$root/src/Host" -c "$configuration" -v quiet -nologo >/dev/null
rae=$( (ls "$root"/src/Host/bin/"$configuration"/net*/*/rae.dll "$root"/src/Host/bin/"$configuration"/net*/rae.dll 2>/dev/null || true) | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/p.yaml" <<YAML
device: cpu
seed: 1
encoder:
  name: dinov2
  options: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, mlp_ratio: 2, patch_size: 16, image_size: 256, num_register_tokens: 0 }
decoder:
  name: vit-decoder
  options: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, patch_size: 16 }
denoiser:
  name: dit-dh
  options: { hidden_size: [16, 24], depth: [1, 1], num_heads: [2, 2], num_classes: 10 }
sampler:
  name: euler
  options: { num_steps: 2 }
guidance: { method: cfg, scale: 1.5, interval: [0.0, 1.0] }
YAML
/usr/bin/time -v -o "$work/time.txt" dotnet "$rae" sample "$work/p.yaml" --run-dir "$work/run" \
  --num-images "$images" --batch-size "$batch" --write-pngs false > "$work/out.txt" 2>&1 || { cat "$work/out.txt"; exit 1; }
npz="$work/run/samples/samples.npz"
peak_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
python3 - "$npz" "$images" "$batch" "$peak_kb" "$wall" <<'PY'
import os, sys, zipfile
npz, images, batch, peak_kb, wall = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
with zipfile.ZipFile(npz) as z:
    info = z.getinfo("arr_0.npy")
print(f"rae sample: {images} images of 256x256 in batches of {batch}, wall {wall}")
print(f"samples.npz: {os.path.getsize(npz) / 2**20:.1f} MiB (arr_0 {info.file_size / 2**20:.1f} MiB)")
print(f"peak RSS (VmHWM): {peak_kb / 2**20:.2f} GiB ({peak_kb / 1024:.0f} MiB)")
PY
