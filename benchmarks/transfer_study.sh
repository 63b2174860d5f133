#!/usr/bin/env bash
# Distillation with a transfer set: recipes/marathi-fastest.yaml's 2-layer student, taught by the
# teacher on its training split *and* on LINES lines of unlabelled Marathi (the teacher's logits,
# KD loss only), EPOCHS epochs, seeds 1 and 2 side by side (one thread each). Compare with the
# same recipe without a transfer set (the matrix's fastest-chain runs, same teacher and seeds) on
# dev, which selects, and on agreement with the teacher (benchmarks/kd_fidelity.py); test only
# reports, in the matrix.
#   bash benchmarks/transfer_study.sh TEACHER DATA CORPUS RUNS [LINES] [EPOCHS] [RECIPE]
set -euo pipefail
TEACHER="$1"; DATA="$2"; CORPUS="$3"; RUNS="$4"
LINES="${5:-10000}"; EPOCHS="${6:-3}"; RECIPE="${7:-recipes/marathi-fastest.yaml}"
NAME="$(basename "$RECIPE" .yaml)-transfer$LINES-e$EPOCHS"
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
for seed in 1 2; do
  out="$RUNS/$NAME-s$seed"
  [ -f "$out/manifest.json" ] && continue
  compress run "$RECIPE" --model "$TEACHER/model" --data "$DATA" --out "$out" \
    --set "passes.0.distill.transfer_corpus=$CORPUS" --set "passes.0.distill.transfer_lines=$LINES" \
    --set "passes.0.distill.epochs=$EPOCHS" --set "seed=$seed" --set benchmark.enabled=false \
    > "$RUNS/$NAME-s$seed.log" 2>&1 &
done
wait
