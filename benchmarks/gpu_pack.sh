#!/usr/bin/env bash
# Packs what benchmarks/gpu_check.sh needs on a lent GPU machine (the `device` tool), which has
# PyTorch but not this project's pinned stack, and cannot reach a registry or ../shared:
#   - wheels for Python 3.12 of what its image lacks or has in another version (pydantic, and
#     transformers/tokenizers/huggingface-hub at the versions of requirements.lock);
#   - the data's train/dev/test files;
#   - the teacher, stored in fp16 to fit the 64 MiB a call may carry (gpu_check.sh casts it back to
#     fp32 there, so every GPU row is measured against that same fp32 teacher).
#
#   bash benchmarks/gpu_pack.sh runs/marathi-teacher ../shared/data/mahanews-shc    # writes .gpu/ (git-ignored)
# then, with the device tool: run(command="bash benchmarks/gpu_check.sh", carry=[".gpu"], timeout_s=590)
set -euo pipefail
TEACHER=${1:?teacher run folder}; DATA=${2:?data folder with train/dev/test}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACK="$ROOT/.gpu"
cd "$ROOT"
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf "$PACK" && mkdir -p "$PACK/wheels" "$PACK/data" "$PACK/teacher"
pins=$(grep -iE '^(pydantic|pydantic-core|annotated-types|typing-inspection|transformers|tokenizers|huggingface-hub)==' requirements.lock)
platforms=()
for n in 28 27 17; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
# shellcheck disable=SC2086
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" --platform manylinux2014_x86_64 -d "$PACK/wheels" $pins
cp "$DATA"/train.csv "$DATA"/dev.csv "$DATA"/test.csv "$PACK/data/"
python - "$TEACHER/model" "$PACK/teacher" <<'PY'
import sys
from transformers import AutoModelForSequenceClassification, AutoTokenizer
source, target = sys.argv[1:]
AutoModelForSequenceClassification.from_pretrained(source).half().save_pretrained(target)
AutoTokenizer.from_pretrained(source).save_pretrained(target)
PY
du -sh "$PACK" && ls "$PACK/wheels"
