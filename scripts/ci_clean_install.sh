#!/usr/bin/env bash
# CI's packaging check: a clean venv, `pip install .[demo]` with its dependencies resolved from
# pyproject.toml (not the lock file, not --no-deps), then compress used end to end from it: an
# int8 run, predict, audit on the packaged MiniLM, and the one-line error naming the [train]
# extra that a training recipe needs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export HF_HOME="$work/hf-home" HF_DATASETS_CACHE="$work/hf-datasets" HF_HUB_OFFLINE=1 MPLCONFIGDIR="$work/mpl"
"$PYTHON" -m venv "$work/venv"
pip_install() { "$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }
pip_install "torch==2.13.0"          # the CPU wheel; an unpinned torch would pull a CUDA build
pip_install "$ROOT[demo]"
"$work/venv/bin/python" -m pip check
cd "$work"                            # not the checkout: the installed package must be what runs
bin="$work/venv/bin"
"$bin/python" "$ROOT/scripts/tiny_case.py" "$work/case"
"$bin/compress" run "$ROOT/recipes/int8-dynamic.yaml" --model case/model --data case/data --out int8 \
  --set passes.1.quantize.min_agreement=0 --set benchmark.rounds=2 --set benchmark.min_seconds=0.2 --set benchmark.memory=false
"$bin/compress" predict int8 --data case/data/dev.csv --out predictions.csv --no-progress
test "$(wc -l < predictions.csv)" -eq 121
"$bin/compress" audit --model minilm --data case/data
set +e
"$bin/compress" run "$ROOT/recipes/finetune.yaml" --model case/model --data case/data --out ft 2> train.err
status=$?
set -e
grep -q "classifier-compress\[train\]" train.err && test "$status" -eq 2 || { cat train.err; echo "[clean install] no [train] hint" >&2; exit 1; }
echo "[clean install] pip install .[demo]: run, predict and audit work; training asks for [train]"
