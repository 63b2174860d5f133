#!/usr/bin/env bash
# Set up (first time) and run the test suite: unit tests on tiny random models, plus
# integration tests on the packaged MiniLM and a slice of MahaNews when ../shared/data is present.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec python -m pytest "$@"
