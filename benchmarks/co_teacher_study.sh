#!/usr/bin/env bash
# The classical model as a second teacher: RECIPE's student (default recipes/marathi-fastest.yaml,
# the 2-layer chain) distilled with `classical_weight: W` in every distilling pass (the targets are
# (1 - W) * p_teacher + W * p_classical; W chosen on dev by benchmarks/co_teacher.py), beside the
# recipe as shipped, seeds 1, 2 and 3, two runs at a time (one thread each). Dev selects; test
# only reports, after the decision (the study's table in benchmarks/TRAINING_RESULTS.md).
# EXTRA: overrides for both variants (the matrix's shorter pruning schedule, say); ONLY=classical
# runs the classical variant alone (when the shipped one's runs exist elsewhere).
# PARALLEL: runs at a time (default 2); TAG: a suffix for the run folders of a variant with EXTRA.
#   bash benchmarks/co_teacher_study.sh TEACHER DATA RUNS [W] [RECIPE] [EXTRA]
set -euo pipefail
TEACHER="$1"; DATA="$2"; RUNS="$3"; W="${4:-0.5}"; RECIPE="${5:-recipes/marathi-fastest.yaml}"
EXTRA="${6:-}"
NAME="$(basename "$RECIPE" .yaml)${TAG:-}"
# every pass that takes a classical teacher gets it: --set passes.I.NAME.classical_weight=W
SETS="$(python - "$RECIPE" "$W" <<'PY'
import sys
from compress.recipe import load_recipe
for i, step in enumerate(load_recipe(sys.argv[1]).to_data()["passes"]):
    name, options = next(iter(step.items()))
    if "classical_weight" in options:
        print(f"--set passes.{i}.{name}.classical_weight={sys.argv[2]}", end=" ")
PY
)"
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
mkdir -p "$RUNS"
jobs_file="$RUNS/$NAME-jobs.txt"
: > "$jobs_file"
for seed in 1 2 3; do
  for variant in shipped "classical$W"; do
    [ "${ONLY:-}" = classical ] && [ "$variant" = shipped ] && continue
    out="$RUNS/$NAME-$variant-s$seed"
    [ -f "$out/manifest.json" ] && continue
    extra=""
    [ "$variant" != shipped ] && extra="$SETS"
    echo "compress run $RECIPE --model $TEACHER/model --data $DATA --out $out --set seed=$seed \
--set benchmark.enabled=false $EXTRA $extra > $out.log 2>&1" >> "$jobs_file"
  done
done
xargs -P "${PARALLEL:-2}" -I{} bash -c {} < "$jobs_file"
