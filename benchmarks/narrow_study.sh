#!/usr/bin/env bash
# The narrow fastest chain (recipes/marathi-fastest-narrow.yaml) from the seed-42 Marathi teacher of
# benchmarks/vocab_study.sh, seeds 42 and 1 side by side, one thread each. Dev selects: compare its
# best dev accuracy (report.json, last distill pass) with the 2-layer chain's (fast2-s42, fast2-s1,
# benchmarks/fast2_study.sh) before any test figure is read. Timings come from a separate
# `compress bench` on a quiet machine. HEADS and NEURONS give other fractions; NAME their folder.
#   bash benchmarks/narrow_study.sh DATA RUNS [HEADS] [NEURONS] [NAME]
set -euo pipefail
DATA="${1:-../shared/data/mahanews-shc}"
RUNS="${2:-runs/vocab}"
HEADS="${3:-0.34}"
NEURONS="${4:-0.5}"
NAME="${5:-narrow}"
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
pids=()
for seed in 42 1; do
  out="$RUNS/$NAME-s$seed"
  [ -f "$out/manifest.json" ] && continue
  resume=(); [ -d "$RUNS/.$NAME-s$seed.checkpoints" ] && resume=(--resume)
  compress run recipes/marathi-fastest-narrow.yaml --model "$RUNS/teacher-s42/model" --data "$DATA" --out "$out" \
    --set "passes.1.structured_prune.heads=$HEADS" --set "passes.1.structured_prune.neurons=$NEURONS" \
    --set "seed=$seed" --set benchmark.enabled=false "${resume[@]}" >> "$RUNS/$NAME-s$seed.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
