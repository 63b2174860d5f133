#!/usr/bin/env bash
# trim_vocab on the MiniLM-vocabulary teacher keeping the tokens of the unlabeled Marathi corpus
# too (recipes/trim-int8.yaml + corpus), for the agreement figure in benchmarks/VOCAB_RESULTS.md.
# Speed is not what this measures (short timing settings; the machine may be busy): size on disk
# and agreement with the teacher on the test split are exact.
#   bash benchmarks/trim_corpus.sh DATA CORPUS RUNS
set -euo pipefail
DATA="${1:-../shared/data/mahanews-shc}"
CORPUS="${2:-../shared/data/marathi-unlabeled/corpus.txt}"
RUNS="${3:-runs/vocab}"
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
[ -f "$RUNS/trim-corpus-int8/manifest.json" ] && exit 0
compress run recipes/trim-int8.yaml --model "$RUNS/minilm-teacher-s42/model" --data "$DATA" \
  --out "$RUNS/trim-corpus-int8" --set "passes.0.trim_vocab.corpus=$CORPUS" \
  --set benchmark.min_seconds=2 --set benchmark.rounds=3 --set benchmark.memory=false \
  >> "$RUNS/trim-corpus-int8.log" 2>&1
