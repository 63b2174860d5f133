#!/usr/bin/env bash
# The GPU check of the reproduction (issue 16), for a lent GPU machine, after benchmarks/gpu_pack.sh:
#   run(command="bash benchmarks/gpu_check.sh", carry=[".gpu"], timeout_s=590)
# 1. the paper's comparison on one GPU: 25% block movement pruning + KD (the recipe's 10+6 epochs)
#    trained in fp32 and in bf16 mixed precision, seed 1;
# 2. the quick matrix's other trained rows on the GPU: KD into 3 layers and into 2 layers;
# 3. every output's GPU inference in fp32, fp16 and bf16 against the teacher in fp32
#    (benchmarks/gpu_bench.py: accuracy on test with paired intervals, batch-1 p50, batch-32).
# Results in $OUT (the device tool brings them back): gpu_bench.md, training.json, gpu.txt, check.log.
# EPOCHS=1 shortens every training pass (a dry run of the plumbing, e.g. on a CPU with a data slice).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT=${OUT:-runs/gpu-check}; WORK=${WORK:-/tmp/gpu-check}; PACK=.gpu
mkdir -p "$OUT"; rm -rf "$WORK"; mkdir -p "$WORK"
exec > >(tee "$OUT/check.log") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if ! python3 -c 'import sys, pydantic, transformers; sys.exit(transformers.__version__ != "4.57.6")' 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$PACK"/wheels/*.whl
    export PYTHONPATH="/tmp/site:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
else
    export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
fi
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo "no nvidia-smi"; \
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'; } | tee "$OUT/gpu.txt"
python3 - "$PACK/teacher" "$WORK/teacher" <<'PY'
import sys, torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
source, target = sys.argv[1:]
AutoModelForSequenceClassification.from_pretrained(source, torch_dtype=torch.float32).save_pretrained(target)
AutoTokenizer.from_pretrained(source).save_pretrained(target)
PY
epochs() { if [ -n "${EPOCHS:-}" ]; then for p in "$@"; do echo "--set passes.$p.epochs=$EPOCHS"; done; fi; }
train() {  # OUTPUT RECIPE [--set ...]: one run on the GPU (the loop takes accelerate's device)
    local name=$1 recipe=$2 started=$SECONDS; shift 2
    python3 -m compress run "recipes/$recipe" --model "$WORK/teacher" --data "$PACK/data" \
        --out "$WORK/$name" --set seed=1 --set benchmark.enabled=false "$@"
    echo "$name: $((SECONDS - started)) s"
}
# shellcheck disable=SC2046
train prune25-kd prune25-kd.yaml $(epochs 0.block_movement 2.distill)
bf16=(--set passes.0.block_movement.precision=bf16 --set passes.2.distill.precision=bf16)
# shellcheck disable=SC2046
train prune25-kd-bf16 prune25-kd.yaml "${bf16[@]}" $(epochs 0.block_movement 2.distill)
kd=(--set passes.1.distill.batch_size=32 --set passes.1.distill.learning_rate=1.5e-4)  # as marathi-fast.yaml
# shellcheck disable=SC2046
train kd-3-layers kd-6to3.yaml "${kd[@]}" $(epochs 1.distill)
# shellcheck disable=SC2046
train kd-2-layers kd-6to3.yaml "${kd[@]}" --set 'passes.0.layer_drop.layers=[0,3]' $(epochs 1.distill)
python3 - "$WORK" "$OUT/training.json" <<'PY'
import json, sys
from pathlib import Path
work, out = Path(sys.argv[1]), Path(sys.argv[2])
runs = {}
for run in sorted(p for p in work.iterdir() if (p / "report.json").is_file()):
    passes = json.loads((run / "report.json").read_text())["passes"]
    runs[run.name] = [{k: p.get(k) for k in ("name", "seconds")} | {"details": {k: v for k, v in p.get("details", {}).items() if k in ("epochs", "best_epoch", "precision", "cost")}} for p in passes]
out.write_text(json.dumps(runs, indent=1))
PY
python3 benchmarks/gpu_bench.py "$WORK/teacher" "$WORK/prune25-kd/model" "$WORK/prune25-kd-bf16/model" \
    "$WORK/kd-3-layers/model" "$WORK/kd-2-layers/model" --data "$PACK/data" --device "${DEVICE:-cuda}" \
    --min-seconds "${MIN_SECONDS:-3}" --out "$OUT/gpu_bench.md"
