"""Every registered pass over every architecture in the table: the artifact it returns is whole.

A pass either works on an architecture or refuses it in one line (CompressError); a pass added
without a case here fails `test_every_registered_pass_has_a_case`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from compress.architectures import ARCHITECTURES
from compress.errors import CompressError
from compress.passes import REGISTRY, Stage
from compress.testing import tiny_artifact

FAST_TRAINING = {"epochs": 1, "batch_size": 16, "track_energy": False}
# pass -> (its settings, the passes it needs before it)
CASES: dict[str, tuple[dict, list[tuple[str, dict]]]] = {
    "finetune": (FAST_TRAINING, []),
    "distill": (FAST_TRAINING, []),
    "block_movement": ({**FAST_TRAINING, "block": (8, 8), "sparsity": 0.5}, []),
    "fold": ({}, [("block_movement", {**FAST_TRAINING, "block": (8, 8), "sparsity": 0.5})]),
    "structured_prune": ({"taylor_batches": 2}, []),
    "layer_drop": ({"keep": 1}, []),
    "precision": ({"dtype": "bf16"}, []),
    "export_onnx": ({"validation_examples": 8}, []),
    "quantize": ({"validation_examples": 8, "min_agreement": 0.0}, [("export_onnx", {"validation_examples": 8})]),
    "vocab_transfer": ({"vocab_size": 200, "min_frequency": 1}, []),
    "trim_vocab": ({}, []),
    "adapt_mlm": ({**FAST_TRAINING, "heldout_lines": 8}, []),
}
# what a pass refuses, in one line, by design
UNSUPPORTED = {("fold", "distilbert"): "cannot be shrunk", ("structured_prune", "distilbert"): "cannot be shrunk"}
TEXTS = ["alpha ball river", "chip stone", "rice cloud north"]


def test_every_registered_pass_has_a_case():
    assert set(CASES) == set(REGISTRY)


def _run(name: str, settings: dict, artifact):
    spec = REGISTRY[name]
    return spec.function(spec.config(**settings), artifact)


def _logits(artifact, model=None):
    model = model or artifact.model
    accepted = set(artifact.tokenizer.model_input_names)
    batch = artifact.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        return model(**{k: v for k, v in batch.items() if k in accepted}).logits.float()


@pytest.mark.parametrize("arch", sorted(set(ARCHITECTURES) - {"xlm-roberta"}))  # xlm-roberta is roberta's row
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_pass_returns_a_whole_artifact(name, arch, tmp_path, toy_data):
    settings, before = CASES[name]
    artifact = tiny_artifact(tmp_path, toy_data, arch)
    for previous, previous_settings in before:
        artifact, _ = _run(previous, previous_settings, artifact)
    if (name, arch) in UNSUPPORTED:
        with pytest.raises(CompressError, match=UNSUPPORTED[name, arch]) as refused:
            _run(name, settings, artifact)
        assert "\n" not in str(refused.value)
        return
    spec = REGISTRY[name]
    head_before = {
        k: v.clone()
        for k, v in artifact.model.state_dict().items()
        if not k.startswith(artifact.model.base_model_prefix)
    }
    result, details = _run(name, settings, artifact)

    json.dumps(details)  # the report stores details as they are
    assert result.data is artifact.data and result.label_order == artifact.label_order
    assert (result.tokenizer is not artifact.tokenizer) == spec.changes_tokenizer
    assert result.model.config.id2label == artifact.model.config.id2label
    if spec.stage is Stage.TORCH:
        logits = _logits(result)
        assert logits.shape == (len(TEXTS), len(artifact.label_order)) and torch.isfinite(logits).all()
        assert result.model_changed
    else:
        from compress.batching import encode
        from compress.predictors import OnnxPredictor, predict_logits

        assert result.onnx and all(path.is_file() for path in result.onnx.values())
        newest = OnnxPredictor("newest", list(result.onnx.values())[-1], threads=1)
        scores = predict_logits(newest, encode(result.tokenizer, TEXTS, 32))
        assert scores.shape == (len(TEXTS), len(artifact.label_order)) and np.isfinite(scores).all()
    if not spec.uses_head:
        for key, value in head_before.items():
            assert torch.equal(result.model.state_dict()[key], value), key


def test_whole_head_movement_pruning_is_refused_where_heads_cannot_be_folded(tmp_path, toy_data):
    settings = {**FAST_TRAINING, "block": (8, 8), "attention_unit": "head"}
    with pytest.raises(CompressError, match="use attention_unit: block"):
        _run("block_movement", settings, tiny_artifact(tmp_path, toy_data, "distilbert"))
