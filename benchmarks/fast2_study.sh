#!/usr/bin/env bash
# A shallower fastest chain: recipes/marathi-fast.yaml with a 2-layer student (layers 0 and 3 of
# the 6-layer Marathi teacher, evenly spaced) instead of 3, seeds 42 and 1, one thread, from the
# seed-42 teacher of benchmarks/vocab_study.sh. Timings come from a separate `compress bench` on a
# quiet machine (see benchmarks/VOCAB_RESULTS.md). LAYERS and NAME give another student, e.g.
# "[0]" fast1 for one layer.
#   bash benchmarks/fast2_study.sh DATA RUNS [LAYERS] [NAME]
set -euo pipefail
DATA="${1:-../shared/data/mahanews-shc}"
RUNS="${2:-runs/vocab}"
LAYERS="${3:-[0,3]}"
NAME="${4:-fast2}"
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
for seed in 42 1; do
  out="$RUNS/$NAME-s$seed"
  [ -f "$out/manifest.json" ] && continue
  resume=(); [ -d "$RUNS/.$NAME-s$seed.checkpoints" ] && resume=(--resume)
  compress run recipes/marathi-fast.yaml --model "$RUNS/teacher-s42/model" --data "$DATA" --out "$out" \
    --set "passes.0.distill.student.layers=$LAYERS" --set "seed=$seed" --set benchmark.enabled=false "${resume[@]}" \
    >> "$RUNS/$NAME-s$seed.log" 2>&1
done
