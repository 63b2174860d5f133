#!/usr/bin/env bash
# Do the Marathi recipes carry over to tasks shaped unlike MahaNews headlines? On the tasks that
# benchmarks/derived_tasks.py makes (4-headline paragraphs; 400 training headlines): the teacher
# recipe from the packaged MiniLM and plain fine-tuning of the MiniLM (its own vocabulary), seed
# 42; from that teacher, the fastest chain without and with a transfer set of unlabelled Marathi,
# one run per student seed. Each run's report measures its output against its input and the
# classical model in one process; benchmarks/generalization_results.py tabulates them. A finished
# run is skipped on rerun.
#   bash benchmarks/generalization.sh DATA CORPUS RUNS [STUDENT_SEEDS...]   (default: 42)
set -euo pipefail
DATA="$1"; CORPUS="$2"; RUNS="$3"; shift 3
SEEDS=("${@:-42}")
export HF_HUB_OFFLINE=1
python benchmarks/derived_tasks.py --data "$DATA" --out "$RUNS/data"
run() {
  local out="$1" seed="$2"; shift 2
  [ -f "$RUNS/$out/manifest.json" ] && return 0
  local start=$SECONDS
  mkdir -p "$(dirname "$RUNS/$out")"
  compress run "$@" --out "$RUNS/$out" --set "seed=$seed" --overwrite > "$RUNS/$out.log" 2>&1
  echo "$out: $((SECONDS - start)) s"
}
for task in small paragraphs; do
  d="$RUNS/data/$task"
  teacher="$RUNS/$task/teacher-s42/model"
  run "$task/teacher-s42" 42 recipes/marathi-teacher.yaml --model minilm --data "$d"
  for seed in "${SEEDS[@]}"; do
    run "$task/fastest-s$seed" "$seed" recipes/marathi-fastest.yaml --model "$teacher" --data "$d"
    run "$task/fastest-transfer-s$seed" "$seed" recipes/marathi-fastest-transfer.yaml --model "$teacher" --data "$d" \
      --set "passes.0.distill.transfer_corpus=$CORPUS"
  done
  run "$task/minilm-s42" 42 recipes/finetune.yaml --model minilm --data "$d"
done
