#!/usr/bin/env bash
# A shallower fastest chain: recipes/marathi-fast.yaml with a 2-layer student (layers 0 and 3 of
# the 6-layer Marathi teacher, evenly spaced) instead of 3, seeds 42 and 1, one thread, from the
# seed-42 teacher of benchmarks/vocab_study.sh. Timings come from a separate `compress bench` on a
# quiet machine (see benchmarks/VOCAB_RESULTS.md).
#   bash benchmarks/fast2_study.sh DATA RUNS
set -euo pipefail
DATA="${1:-../shared/data/mahanews-shc}"
RUNS="${2:-runs/vocab}"
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
for seed in 42 1; do
  out="$RUNS/fast2-s$seed"
  [ -f "$out/manifest.json" ] && continue
  resume=(); [ -d "$RUNS/.fast2-s$seed.checkpoints" ] && resume=(--resume)
  compress run recipes/marathi-fast.yaml --model "$RUNS/teacher-s42/model" --data "$DATA" --out "$out" \
    --set "passes.0.distill.student.layers=[0,3]" --set "seed=$seed" --set benchmark.enabled=false "${resume[@]}" \
    >> "$RUNS/fast2-s$seed.log" 2>&1
done
