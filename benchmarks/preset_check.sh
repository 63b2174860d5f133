#!/usr/bin/env bash
# Which int8 preset is fastest on this CPU? The same model quantized with each preset (fused
# dynamic int8), then measured side by side against its fp32 PyTorch form in one process.
#   bash benchmarks/preset_check.sh MODEL DATA RUNS
set -euo pipefail
MODEL="$1"; DATA="$2"; RUNS="${3:-runs/presets}"
mkdir -p "$RUNS"
for preset in avx2 avx512 avx512_vnni; do
  [ -f "$RUNS/$preset/manifest.json" ] || compress run recipes/int8-dynamic.yaml --model "$MODEL" --data "$DATA" \
    --out "$RUNS/$preset" --set "passes.1.quantize.preset=$preset" --set benchmark.enabled=false
done
compress bench "$RUNS/avx2" "$RUNS/avx512" "$RUNS/avx512_vnni" --baseline "$MODEL" --data "$DATA" --out "$RUNS/bench" \
  --no-memory --no-classical --overwrite
