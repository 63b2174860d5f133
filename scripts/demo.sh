#!/usr/bin/env bash
# The main job on the embedded default: make a Marathi teacher from the packaged all-MiniLM-L6-v2
# (vocabulary transfer + fine-tuning on MahaNews SHC, recipes/marathi-teacher.yaml), compress it
# with recipes/int8-dynamic.yaml, and print where the reports are.
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
compress run recipes/marathi-teacher.yaml --model minilm --data "$DATA" --out "$RUNS/marathi-teacher" --overwrite
compress run recipes/int8-dynamic.yaml --model "$RUNS/marathi-teacher/model" --data "$DATA" --out "$RUNS/marathi-int8" --overwrite
echo
echo "teacher (Marathi vocabulary): $RUNS/marathi-teacher/model   (report: $RUNS/marathi-teacher/report.md)"
echo "int8 ONNX model:              $RUNS/marathi-int8/onnx        (report: $RUNS/marathi-int8/report.md)"
echo "classify a file:              compress predict $RUNS/marathi-int8 --data headlines.csv --out predictions.csv"
