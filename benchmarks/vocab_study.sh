#!/usr/bin/env bash
# The runs behind benchmarks/VOCAB_RESULTS.md, in two lanes of one thread each (2-core machine).
# Inputs: MahaNews SHC (train trains, dev selects, test reports); seeds 42, 1, 2. Run it from a
# checkout that nobody edits meanwhile (a git worktree): a long run imports modules lazily.
#   bash benchmarks/vocab_study.sh DATA RUNS
set -euo pipefail
DATA="${1:-../shared/data/mahanews-shc}"
RUNS="${2:-runs/vocab}"
mkdir -p "$RUNS"
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
# a finished run is skipped; one that stopped after a checkpoint resumes
run() {
  local out="$1"; shift
  [ -f "$RUNS/$out/manifest.json" ] && return 0
  local resume=(); [ -d "$RUNS/.$out.checkpoints" ] && resume=(--resume)
  compress run "$@" --data "$DATA" --out "$RUNS/$out" "${resume[@]}" >> "$RUNS/$out.log" 2>&1
}
lane_a() {
  run teacher-s42 recipes/marathi-teacher.yaml --model minilm
  run teacher-s1 recipes/marathi-teacher.yaml --model minilm --set seed=1
  run fast-s42 recipes/marathi-fast.yaml --model "$RUNS/teacher-s42/model"
  run fast-s1 recipes/marathi-fast.yaml --model "$RUNS/teacher-s42/model" --set seed=1
}
lane_b() {
  run minilm-teacher-s42 recipes/finetune.yaml --model minilm
  run teacher-s2 recipes/marathi-teacher.yaml --model minilm --set seed=2
  run trim-int8 recipes/trim-int8.yaml --model "$RUNS/minilm-teacher-s42/model"
}
lane_a & lane_b & wait
