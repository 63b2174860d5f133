#!/usr/bin/env bash
# Lint and types with the project's own settings (pyproject.toml): ruff's rules and formatting over
# the package, tests, benchmarks and scripts; mypy over the package. Part of .ci/run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
ruff check compress tests benchmarks scripts
ruff format --check compress tests benchmarks scripts
mypy
