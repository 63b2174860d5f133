#!/usr/bin/env bash
# Create or reuse .venv and install the pinned stack. Sourced by demo.sh and test.sh.
# torch goes first and pinned: on a fresh venv an unpinned torch pulls a multi-GB CUDA build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${COMPRESS_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || { echo "compress needs Python >= 3.11" >&2; exit 1; }

stamp="$VENV/.compress-installed"
want="$(cat "$ROOT/requirements.lock" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing pinned dependencies into $VENV (a few minutes the first time)" >&2
  pip_install() { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }
  pip_install "torch==2.13.0"
  pip_install -r "$ROOT/requirements.lock"
  pip_install --no-deps -e "$ROOT"
  "$VENV/bin/python" -m pip check >&2
  "$VENV/bin/python" -c "import torch, compress" || { echo "[setup] install failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
export TOKENIZERS_PARALLELISM=false
