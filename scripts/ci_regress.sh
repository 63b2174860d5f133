#!/usr/bin/env bash
# CI's speed-regression gate, exercised on a small case on every submission: fine-tune a tiny
# random BERT on toy data, export it to ONNX int8, and require the int8 graph to stay faster than
# the fp32 PyTorch model and as accurate (thresholds in .ci/regress.yaml). Exit 1 on a regression.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export HF_HOME="$work/hf-home" HF_DATASETS_CACHE="$work/hf-datasets"
python scripts/tiny_case.py "$work"
compress run recipes/finetune.yaml --model "$work/model" --data "$work/data" --out "$work/ft" \
    --set passes.0.finetune.epochs=12 --set passes.0.finetune.learning_rate=2e-3 --set benchmark.enabled=false
compress run recipes/int8-dynamic.yaml --model "$work/ft/model" --data "$work/data" --out "$work/int8" \
    --set benchmark.enabled=false
compress regress "$work/int8" --baseline "$work/ft/model" --data "$work/data" --thresholds .ci/regress.yaml \
    --json "${REGRESS_JSON:-$work/regress.json}"
