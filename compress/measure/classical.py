"""The classical baseline every report carries: character n-gram TF-IDF and a linear SVM.

On short texts in a language the transformer was never pretrained on, this model of a few
seconds' training can beat a fine-tuned encoder by many points (MahaNews: about 81% against
65% on test). A report that compares compressed transformers only with each other would hide
that, so this row is measured in the same process, on the same split, and the report says
plainly when a transformer does not beat it.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from compress.data import Split
from compress.errors import CompressError

NGRAMS = (1, 4)
NAME = "classical: char 1-4-gram TF-IDF + linear SVM"


@dataclass(frozen=True)
class TextBatches:
    """The texts of a split, cut into batches the way `batching.Encoded` cuts token ids, so the
    same timing code measures a model that reads raw text."""

    texts: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def lengths(self) -> np.ndarray:
        return np.array([len(t) for t in self.texts])

    def batch(self, rows: Sequence[int]) -> dict[str, np.ndarray]:
        return {"text": np.array([self.texts[r] for r in rows], dtype=object)}


class ClassicalPredictor:
    """`inputs -> scores` over the fitted pipeline, one score column per label (decision function)."""

    def __init__(self, pipeline: Any, labels: int) -> None:
        self.name, self.pipeline, self.labels = NAME, pipeline, labels

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        scores = self.pipeline.decision_function(list(inputs["text"]))
        return scores.reshape(len(inputs["text"]), -1) if self.labels > 2 else np.stack([-scores, scores], axis=1)

    def size_mb(self) -> float:
        return len(pickle.dumps(self.pipeline)) / 2**20  # in memory only: measured, never written or loaded


def _pipeline(seed: int, calibrated_folds: int = 0) -> Any:
    """TF-IDF over character 1-4-grams and a linear SVM; with `calibrated_folds`, the SVM's scores
    turned into probabilities by cross-validated sigmoid calibration."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    svm = LinearSVC(C=1.0, random_state=seed)
    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True, min_df=1),
        CalibratedClassifierCV(svm, cv=calibrated_folds) if calibrated_folds else svm,
    )


def fit_classical(train: Split, seed: int) -> ClassicalPredictor:
    """Fit on the training split (the same one the transformers trained on), seed fixed."""
    pipeline = _pipeline(seed)
    pipeline.fit(list(train.texts), train.labels)
    return ClassicalPredictor(pipeline, int(train.labels.max()) + 1)


def calibration_folds(train: Split) -> int:
    """Cross-validation folds the calibration can use on `train`: 5, or fewer when a label has fewer
    examples; under 2 (a label with one example, or one label) it cannot run."""
    present, counts = np.unique(train.labels, return_counts=True)
    return min(5, int(counts.min())) if len(present) >= 2 else 0


def classical_probabilities(train: Split, texts: Sequence[str], labels: int, seed: int) -> np.ndarray:
    """The classical model's probability of each of `labels` label ids (columns) for every text, so
    that it can teach a student beside the transformer teacher. It is fitted on the training split;
    its scores are calibrated by 5-fold cross-validation there (fewer folds when a label has fewer
    examples), which also keeps its answers on the training texts from being near one-hot."""
    folds = calibration_folds(train)
    if folds < 2:
        raise CompressError("classical_weight: every label of the training split needs at least 2 examples")
    pipeline = _pipeline(seed, folds).fit(list(train.texts), train.labels)
    probabilities = np.zeros((len(texts), labels))
    probabilities[:, pipeline.classes_] = pipeline.predict_proba(list(texts))
    return probabilities
