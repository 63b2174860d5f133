#!/usr/bin/env bash
# The main job on the embedded default: fine-tune the packaged all-MiniLM-L6-v2 on MahaNews SHC,
# compress it with recipes/int8-dynamic.yaml, and print where the report is.
# Data elsewhere:  COMPRESS_DATA=/path/to/folder-or-file bash scripts/demo.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
DATA="${COMPRESS_DATA:-$ROOT/../shared/data/mahanews-shc}"
RUNS="${COMPRESS_RUNS:-$ROOT/runs}"
if [ ! -e "$DATA" ]; then
  echo "no data at $DATA: set COMPRESS_DATA to a CSV/JSON/Parquet file or a folder with train/dev files" >&2
  echo "(MahaNews SHC comes from https://github.com/l3cube-pune/MarathiNLP; see README, 'Data')" >&2
  exit 2
fi
compress run recipes/finetune.yaml --model minilm --data "$DATA" --out "$RUNS/minilm-finetuned" --overwrite
compress run recipes/int8-dynamic.yaml --model "$RUNS/minilm-finetuned/model" --data "$DATA" --out "$RUNS/minilm-int8" --overwrite
echo
echo "fine-tuned classifier: $RUNS/minilm-finetuned/model   (report: $RUNS/minilm-finetuned/report.md)"
echo "int8 ONNX model:       $RUNS/minilm-int8/onnx          (report: $RUNS/minilm-int8/report.md)"
