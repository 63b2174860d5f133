"""The Python API: run a recipe, load any output as a classifier, benchmark models.

    import compress
    report = compress.run("recipes/marathi-teacher.yaml", model="minilm", data="data/", out="runs/teacher")
    classifier = compress.load("runs/teacher")          # a run folder, model folder, or .onnx file
    classifier.predict(["..."])                          # label names
    classifier.predict_proba(["..."])                    # one probability column per label

Everything goes through the same loader and measurement code as the command line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from compress.errors import CompressError


class Classifier:
    """A loaded classifier of any kind (PyTorch, pruned, ONNX), fed by its own tokenizer."""

    def __init__(self, loaded: Any, threads: int, max_length: int, batch_size: int) -> None:
        self.loaded = loaded
        self.labels: tuple[str, ...] = loaded.label_order
        self.kind: str = loaded.kind
        self.name: str = loaded.name
        self.max_length, self.batch_size, self.threads = max_length, batch_size, threads
        self._predictor = loaded.predictor(threads)

    def logits(self, texts: Sequence[str], max_padding: float | None = None) -> np.ndarray:
        """`max_padding`: batch only texts close enough in length that padding stays under this
        share of each batch's tokens (None: batches of `batch_size` in length order)."""
        from compress.batching import encode
        from compress.predictors import predict_logits

        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        encoded = encode(self.loaded.tokenizer, texts, self.max_length)
        return predict_logits(self._predictor, encoded, self.batch_size, max_padding)

    def predict_proba(self, texts: Sequence[str], max_padding: float | None = None) -> np.ndarray:
        logits = self.logits(texts, max_padding).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.labels[i] for i in self.logits(texts).argmax(axis=1)]


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise CompressError("predict: pass a list of texts, not one string")
    texts = list(texts)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()), None)
    if bad is not None:
        raise CompressError(f"predict: text {bad} is empty or not a string")
    return texts


def load(
    path: str | Path,
    *,
    threads: int | None = None,
    max_length: int = 128,
    batch_size: int | None = None,
    trust_remote_code: bool = False,
) -> Classifier:
    """Load a model folder, pruned folder, `.onnx` file or `compress run` folder as a classifier."""
    from compress.cpus import default_threads
    from compress.loading import load_model
    from compress.predictors import EVALUATION_BATCH

    loaded = load_model(str(path), stored_dtype=True, trust_remote_code=trust_remote_code)
    return Classifier(loaded, threads or default_threads(), max_length, batch_size or EVALUATION_BATCH)


def run(
    recipe: str | Path | Mapping[str, Any] | Any,
    *,
    model: str | Path | None = None,
    data: str | Path | None = None,
    out: str | Path,
    overwrite: bool = False,
    overrides: Sequence[str] = (),
    resume: bool = False,
    trust_remote_code: bool = False,
    log: Any = print,
) -> dict[str, Any]:
    """Run a recipe (a YAML path, a mapping shaped like one, or a `Recipe`); returns the report."""
    from compress.recipe import Recipe, load_recipe, parse_recipe
    from compress.runner import RunOptions, run_recipe

    recipe_path = None
    if isinstance(recipe, Recipe):
        if overrides:
            raise CompressError("run: overrides apply to a recipe file or mapping, not to a Recipe object")
        parsed = recipe
    elif isinstance(recipe, Mapping):
        from compress.recipe import apply_override

        raw = dict(recipe)
        for item in overrides:
            apply_override(raw, item)
        parsed = parse_recipe(raw)
    else:
        recipe_path = Path(recipe)
        parsed = load_recipe(recipe_path, list(overrides))
    options = RunOptions(
        str(model) if model else None,
        str(data) if data else None,
        Path(out),
        overwrite,
        trust_remote_code=trust_remote_code,
        resume=resume,
        recipe_path=recipe_path,
    )
    return run_recipe(parsed, options, log=log)


def bench(
    baseline: str | Path,
    candidates: Sequence[str | Path],
    *,
    data: str | Path,
    out: str | Path,
    overwrite: bool = False,
    max_length: int = 128,
    log: Any = print,
    **settings: Any,
) -> dict[str, Any]:
    """Measure candidates against a baseline classifier in one process (see `compress bench`)."""
    from compress.bench_command import bench_models
    from compress.measure.settings import BenchmarkConfig
    from compress.runner import RunOptions

    options = RunOptions(None, str(data), Path(out), overwrite)
    return bench_models(
        str(baseline), [str(c) for c in candidates], options, BenchmarkConfig(**settings), max_length, log
    )
