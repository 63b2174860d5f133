#!/usr/bin/env bash
# What vocab_transfer's defences against unseen characters (complete_scripts, isolate_symbols,
# drop_invisible: compress/vocab/alphabet.py) do to the teacher: the teacher recipe with them
# (VARIANT robust, the defaults) or without them (before: the tokenizer of the earlier results),
# one run per seed, the benchmark off (benchmarks/study_scores.py pairs the runs afterwards).
# A finished run is skipped on rerun.
#   bash benchmarks/tokenizer_study.sh DATA RUNS robust|before SEED...
set -euo pipefail
DATA="$1"; RUNS="$2"; VARIANT="$3"; shift 3
case "$VARIANT" in
  robust) sets=() ;;
  before) sets=()
    for option in complete_scripts isolate_symbols drop_invisible; do
      sets+=(--set "passes.0.vocab_transfer.$option=false")
    done ;;
  *) echo "tokenizer_study.sh: VARIANT is robust or before, not '$VARIANT'" >&2; exit 2 ;;
esac
export HF_HUB_OFFLINE=1
mkdir -p "$RUNS"
for seed in "$@"; do
  out="$RUNS/$VARIANT-s$seed"
  [ -f "$out/manifest.json" ] && continue
  start=$SECONDS
  compress run recipes/marathi-teacher.yaml --model minilm --data "$DATA" --out "$out" --set "seed=$seed" \
    --set benchmark.enabled=false "${sets[@]}" --overwrite > "$out.log" 2>&1
  echo "$out: $((SECONDS - start)) s"
done
