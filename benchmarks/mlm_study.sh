#!/usr/bin/env bash
# The runs behind the masked-LM rows of benchmarks/VOCAB_RESULTS.md: recipes/marathi-teacher-mlm.yaml
# on MahaNews SHC (train trains, dev selects, test reports), seeds 42, 1, 2, one after another with
# both cores. The first seed adapts (about 1,600 masked-LM steps over the unlabeled corpus); the
# others read the adaptation from the cache ($COMPRESS_CACHE, default ~/.cache/compress). Run it
# from a checkout nobody edits meanwhile (a git worktree): a long run imports modules lazily.
#   bash benchmarks/mlm_study.sh DATA CORPUS RUNS
set -euo pipefail
DATA="${1:-../shared/data/mahanews-shc}"
CORPUS="${2:-../shared/data/marathi-unlabeled/corpus.txt}"
RUNS="${3:-runs/vocab}"
mkdir -p "$RUNS"
export HF_HUB_OFFLINE=1
# a finished run is skipped; one that stopped after a checkpoint resumes
run() {
  local out="$1"; shift
  [ -f "$RUNS/$out/manifest.json" ] && return 0
  local resume=(); [ -d "$RUNS/.$out.checkpoints" ] && resume=(--resume)
  compress run "$@" --data "$DATA" --out "$RUNS/$out" "${resume[@]}" >> "$RUNS/$out.log" 2>&1
}
for seed in 42 1 2; do
  run "teacher-mlm-s$seed" recipes/marathi-teacher-mlm.yaml --model minilm \
    --set "passes.1.adapt_mlm.corpus=$CORPUS" --set "seed=$seed"
done
