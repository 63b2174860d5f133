#!/usr/bin/env bash
# Do the Marathi recipes carry over to tasks shaped unlike MahaNews headlines? On the tasks that
# benchmarks/derived_tasks.py makes (4-headline paragraphs; 400 training headlines; a label cut to
# 12 training headlines), per teacher seed T: the teacher recipe from the packaged MiniLM
# (teacher-sT) and plain fine-tuning of the MiniLM with its own vocabulary (minilm-sT); from that
# teacher, the fastest chain without and with a transfer set of unlabelled Marathi, one run per
# student seed S (fastest-tT-sS, fastest-transfer-tT-sS). Each run's report measures its output
# against its input and the classical model in one process; benchmarks/generalization_results.py
# tabulates them, pairing every student with its own teacher. A finished run is skipped on rerun.
#   [TEACHER_SEEDS="42 1"] [TASKS="small paragraphs rare"] bash benchmarks/generalization.sh DATA CORPUS RUNS [STUDENT_SEEDS...]
# Defaults: teacher seed 42, every task, student seed 42. Two invocations with different TASKS may
# share a machine (OMP_NUM_THREADS=1 each); they must not share a task.
set -euo pipefail
DATA="$1"; CORPUS="$2"; RUNS="$3"; shift 3
SEEDS=("${@:-42}")
read -r -a TEACHERS <<< "${TEACHER_SEEDS:-42}"
read -r -a TASK_NAMES <<< "${TASKS:-small paragraphs rare}"
export HF_HUB_OFFLINE=1
for task in "${TASK_NAMES[@]}"; do
  [ -f "$RUNS/data/$task/README.md" ] || { python benchmarks/derived_tasks.py --data "$DATA" --out "$RUNS/data"; break; }
done
run() {
  local out="$1" seed="$2"; shift 2
  [ -f "$RUNS/$out/manifest.json" ] && return 0
  local start=$SECONDS
  mkdir -p "$(dirname "$RUNS/$out")"
  compress run "$@" --out "$RUNS/$out" --set "seed=$seed" --overwrite > "$RUNS/$out.log" 2>&1
  echo "$out: $((SECONDS - start)) s"
}
for task in "${TASK_NAMES[@]}"; do
  d="$RUNS/data/$task"
  for t in "${TEACHERS[@]}"; do
    teacher="$RUNS/$task/teacher-s$t/model"
    run "$task/teacher-s$t" "$t" recipes/marathi-teacher.yaml --model minilm --data "$d"
    for seed in "${SEEDS[@]}"; do
      run "$task/fastest-t$t-s$seed" "$seed" recipes/marathi-fastest.yaml --model "$teacher" --data "$d"
      run "$task/fastest-transfer-t$t-s$seed" "$seed" recipes/marathi-fastest-transfer.yaml --model "$teacher" \
        --data "$d" --set "passes.0.distill.transfer_corpus=$CORPUS"
    done
    run "$task/minilm-s$t" "$t" recipes/finetune.yaml --model minilm --data "$d"
  done
done
