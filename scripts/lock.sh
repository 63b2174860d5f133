#!/usr/bin/env bash
# Regenerate requirements.lock from pyproject.toml with pip-compile (pip-tools), in a throw-away
# venv so the tool never lands in the project's. Pins every extra the test command installs;
# torch is left out: scripts/setup.sh installs torch==2.13.0 (the CPU wheel) first, on its own.
#   bash scripts/lock.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$(mktemp -d)"
trap 'rm -rf "$TOOLS"' EXIT
python3 -m venv "$TOOLS/venv"
"$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check pip-tools
cd "$ROOT"
"$TOOLS/venv/bin/pip-compile" --quiet --strip-extras --no-emit-index-url --no-emit-find-links --unsafe-package torch --extra train --extra energy --extra serve --extra study \
  --extra demo --extra test --output-file requirements.lock pyproject.toml
