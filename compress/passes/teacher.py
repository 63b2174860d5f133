"""The frozen teacher that the distilling passes (`distill`, `block_movement`) learn from, and the
distillation hook built from their `DistillationOptions`: a helper of the passes layer, not a
pass, so that no pass imports another."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from compress.artifact import Artifact
from compress.errors import CompressError
from compress.training.settings import DistillationOptions


def load_teacher(reference: str | None, artifact: Artifact, what: str = "distill") -> tuple[Any, Any, str]:
    """The frozen teacher with its own tokenizer: `reference`, or the recipe's input model; its
    labels must match the student's."""
    from compress.loading import load_model
    from compress.models import resolve_model

    source = resolve_model(reference) if reference else artifact.source
    if source is None:
        raise CompressError(f"{what}: no teacher (name one with 'teacher:')")
    loaded = load_model(source, artifact.label_order)
    if loaded.label_order != artifact.label_order:
        raise CompressError(
            f"{what}: teacher labels {list(loaded.label_order)} are ordered differently from the student's"
        )
    return loaded.model.eval().requires_grad_(False), loaded.tokenizer, source.reference


def transfer_texts(options: DistillationOptions, what: str) -> list[str]:
    """The unlabelled texts the options name, as the student will see them after the training
    split: the corpus's lines, or a fixed seeded sample of `transfer_lines` of them (fixed, so that
    seeds differ in training only, not in what the student is shown)."""
    from compress.data import read_corpus

    if options.transfer_corpus is None:
        return []
    texts = read_corpus(options.transfer_corpus, None, what)
    if not texts:
        raise CompressError(f"{what}: transfer corpus {options.transfer_corpus} has no text")
    if options.transfer_lines is not None and options.transfer_lines < len(texts):
        picked = np.sort(np.random.default_rng(0).choice(len(texts), options.transfer_lines, replace=False))
        texts = [texts[i] for i in picked]
    return texts


# `classical_weight: auto` chooses among these; 0.7 is the largest share students were trained with and
# measured (benchmarks/TRAINING_RESULTS.md), so auto never teaches further from the transformer than that
AUTO_CLASSICAL_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def teacher_logits(teacher: Any, tokenizer: Any, artifact: Artifact, texts: Sequence[str]) -> np.ndarray:
    """The teacher's logits on `texts`, in order (exact: it is frozen, in eval mode). The teacher
    reads its own token ids, so a student with another vocabulary can learn from it.

    They are a function of the teacher's weights, its tokenizer, the texts and the length limit,
    so they are kept in the content-addressed cache under that key: the passes and runs of a study
    that distil from one teacher on the same texts compute them once (the v3 matrix computed them
    in 43 passes, on three distinct sets of texts)."""
    from compress import cache
    from compress.batching import encode
    from compress.predictors import TorchPredictor, predict_logits

    weights = teacher.state_dict()
    key = cache.content_key(
        "teacher_logits-1",
        *weights,
        *weights.values(),
        cache.tokenizer_definition(tokenizer),
        artifact.max_length,
        *texts,
    )
    if (hit := cache.entry("teacher_logits", key)) is not None:
        return np.load(hit / "logits.npy")
    logits = predict_logits(TorchPredictor("teacher", teacher), encode(tokenizer, list(texts), artifact.max_length))
    with cache.writing("teacher_logits", key) as folder:
        np.save(folder / "logits.npy", logits)
    return logits


def _probabilities(logits: np.ndarray) -> np.ndarray:
    import torch

    return torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()


def choose_classical_weight(
    teacher: np.ndarray, classical: np.ndarray, labels: np.ndarray
) -> tuple[float, dict[float, float]]:
    """The weight of `AUTO_CLASSICAL_WEIGHTS` whose mixture of the two teachers' probabilities is
    most accurate on the selection split, the smallest of equals (the transformer teacher keeps
    what a tie cannot show is better given away); with each weight's accuracy."""
    accuracy = {
        w: float(np.mean(((1 - w) * teacher + w * classical).argmax(axis=1) == labels)) for w in AUTO_CLASSICAL_WEIGHTS
    }
    best = max(accuracy.values())
    return min(w for w, a in accuracy.items() if a == best), accuracy


def with_classical(
    logits: np.ndarray,
    weight: float | str,
    artifact: Artifact,
    extra: Sequence[str] = (),
    selection_logits: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The targets of a two-teacher ensemble, as logits the hook can soften like the teacher's:
    log((1 - weight) * softmax(teacher) + weight * p_classical), row for row with `logits` (the
    training examples, then `extra`). With weight 0 these are the teacher's log-probabilities,
    which the temperature softens exactly as it softens the teacher's logits. `weight` "auto"
    chooses it on the selection split, where `selection_logits` are the teacher's, and chooses 0
    where the classical model cannot be calibrated (a label with one training example), so a
    recipe with "auto" runs on any task. Also returns the weight used and the share of rows where
    the two teachers agree."""
    from compress.measure.classical import calibration_folds, classical_probabilities

    texts = [*artifact.data.train.texts, *extra]
    selection = artifact.data.selection
    if weight == "auto" and selection_logits is None:
        raise CompressError("classical_weight auto: the teacher's logits on the selection split are needed")
    if weight == "auto" and calibration_folds(artifact.data.train) < 2:
        note = "auto chose 0: the classical model cannot be calibrated (a label with one training example)"
        return _log_targets(_probabilities(logits)), {"classical_weight": 0.0, "classical_weight_note": note}
    scored = [*texts, *selection.texts] if weight == "auto" else texts
    classical = classical_probabilities(artifact.data.train, scored, logits.shape[1], artifact.seed)
    details: dict[str, Any] = {}
    if weight == "auto" and selection_logits is not None:
        weight, accuracy = choose_classical_weight(
            _probabilities(selection_logits), classical[len(texts) :], selection.labels
        )
        classical = classical[: len(texts)]
        details["classical_weight_chosen_on"] = {
            "split": selection.name,
            "mixture_accuracy": {f"{w:.1f}": round(a, 4) for w, a in accuracy.items()},
        }
    teacher = _probabilities(logits)
    mixed = (1 - float(weight)) * teacher + float(weight) * classical
    agreement = float((teacher.argmax(axis=1) == classical.argmax(axis=1)).mean())
    details |= {"classical_weight": weight, "classical_agrees_with_teacher": round(agreement, 4)}
    return _log_targets(mixed), details


def _log_targets(probabilities: np.ndarray) -> np.ndarray:
    """Distillation targets as log-probabilities (floored, so a zero stays finite)."""
    return np.log(np.maximum(probabilities, 1e-12)).astype(np.float32)


def distillation_hook(
    options: DistillationOptions, artifact: Artifact, student: Any, what: str, transfer: Sequence[str] = ()
) -> tuple[Any, dict[str, Any]]:
    """The hook that teaches `student` from the options' teacher, and what to report about it.

    The teacher's logits are cached once (exact: it is frozen) unless a hidden-state or
    attention loss, or the options, ask for the live teacher; a teacher that tokenizes
    differently from the student can only teach through cached logits. `transfer` texts follow
    the training split (rows after it), with the teacher's answers and no label."""
    from compress.architectures import KEPT_LAYERS_KEY, encoder_layers
    from compress.training.distillation import DistillationHook

    teacher, teacher_tokenizer, teacher_name = load_teacher(options.teacher, artifact, what)
    student_layers, teacher_layers = len(encoder_layers(student)), len(encoder_layers(teacher))
    kept = getattr(student.config, KEPT_LAYERS_KEY, None)  # set by layer_drop (or distill's student.layers)
    fits = kept and len(kept) == student_layers and max(kept) < teacher_layers
    layer_map = list(options.layer_map or (kept if kept and fits else range(student_layers)))
    if len(layer_map) != student_layers or max(layer_map) >= teacher_layers:
        raise CompressError(
            f"{what}: layer_map {layer_map} must name one teacher layer for each of {student_layers} student layers"
        )
    if options.hidden_weight and student.config.hidden_size != teacher.config.hidden_size:
        raise CompressError(f"{what}: hidden_weight needs student and teacher of the same hidden size")
    live = bool(options.hidden_weight or options.attention_weight) or not options.cache_teacher_logits
    shared = teacher_tokenizer.get_vocab() == artifact.tokenizer.get_vocab()
    if live and not shared:
        raise CompressError(
            f"{what}: the teacher tokenizes differently from the student, so it can only teach through "
            "cached logits: drop hidden_weight/attention_weight and keep cache_teacher_logits"
        )
    details: dict[str, Any] = {
        "teacher": teacher_name,
        "teacher_logits": "live" if live else "cached",
        "teacher_tokenizer": "shared" if shared else "its own",
        "student_layers": student_layers,
        "layer_map": layer_map,
        "teacher_parameters": sum(p.numel() for p in teacher.parameters()),
    }
    if transfer:
        details |= {"transfer_corpus": str(options.transfer_corpus), "transfer_examples": len(transfer)}
    cached = None
    if not live:
        started = time.perf_counter()
        cached = teacher_logits(teacher, teacher_tokenizer, artifact, [*artifact.data.train.texts, *transfer])
        if options.classical_weight:
            selection = None
            if options.classical_weight == "auto":
                selection = teacher_logits(teacher, teacher_tokenizer, artifact, artifact.data.selection.texts)
            cached, mixing = with_classical(cached, options.classical_weight, artifact, transfer, selection)
            details |= mixing
        details["teacher_cache_seconds"] = round(time.perf_counter() - started, 2)
    hook = DistillationHook(options, teacher if live else None, cached, layer_map)
    return hook, details
