"""Masked-LM adaptation: it teaches the encoder, leaves the head, caches by content and resumes."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import run_inline_recipe, tiny_model, tiny_tokenizer

from compress.artifact import Artifact
from compress.data import load_task_data
from compress.errors import CompressError
from compress.passes.adapt_mlm import AdaptMlmConfig, adapt_mlm
from compress.training import masked_lm

FAST = {"epochs": 3, "batch_size": 8, "learning_rate": 1e-3, "heldout_lines": 20, "track_energy": False}


def _artifact(tmp_path, toy_data, arch="bert", **extra):
    data = load_task_data(str(toy_data))
    tokenizer = tiny_tokenizer(tmp_path / "vocab")
    if arch == "distilbert":  # as its own tokenizer would: no segment ids
        tokenizer.model_input_names = ["input_ids", "attention_mask"]
    torch.manual_seed(0)
    model = tiny_model(arch, list(data.label_map.names), vocab_size=len(tokenizer))
    return Artifact(model, tokenizer, data, tmp_path, max_length=32, seed=0, **extra)


def _encoder(model):
    return {k: v.clone() for k, v in getattr(model, model.base_model_prefix).state_dict().items()}


@pytest.mark.parametrize("arch", ["bert", "roberta", "distilbert"])
def test_adaptation_lowers_the_heldout_loss_and_leaves_the_head(tmp_path, toy_data, arch):
    artifact = _artifact(tmp_path, toy_data, arch)
    head = {
        k: v.clone()
        for k, v in artifact.model.state_dict().items()
        if not k.startswith(artifact.model.base_model_prefix)
    }
    before = _encoder(artifact.model)
    result, details = adapt_mlm(AdaptMlmConfig(**FAST), artifact)
    loss_before, loss_after = details["heldout_mlm_loss"]
    assert loss_after < loss_before - 0.1, details["heldout_mlm_loss"]
    assert details["texts"] == {"train": 73, "heldout": 8} and details["steps"] == 3 * 10 and not details["cached"]
    after = _encoder(result.model)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    for name, value in result.model.state_dict().items():
        if name in head:
            assert torch.equal(value, head[name]), name
    inputs = result.tokenizer(["alpha ball"], return_tensors="pt")
    assert result.model(input_ids=inputs["input_ids"]).logits.shape == (1, 3)


def test_a_second_adaptation_of_the_same_inputs_is_read_from_the_cache(tmp_path, toy_data, monkeypatch):
    import compress.passes.adapt_mlm as module

    first, details = adapt_mlm(AdaptMlmConfig(**FAST), _artifact(tmp_path, toy_data))
    real = module._adapt
    monkeypatch.setattr(module, "_adapt", lambda *a, **k: pytest.fail("adapted again instead of reading the cache"))
    again, cached = adapt_mlm(AdaptMlmConfig(**FAST), _artifact(tmp_path, toy_data))
    assert cached["cached"] and cached["heldout_mlm_loss"] == details["heldout_mlm_loss"]
    assert all(torch.equal(v, _encoder(again.model)[k]) for k, v in _encoder(first.model).items())
    calls = []
    monkeypatch.setattr(module, "_adapt", lambda *a, **k: calls.append(1) or real(*a, **k))
    adapt_mlm(AdaptMlmConfig(**{**FAST, "mlm_probability": 0.2}), _artifact(tmp_path, toy_data))
    adapt_mlm(AdaptMlmConfig(**FAST, cache=False), _artifact(tmp_path, toy_data))
    assert len(calls) == 2


def test_an_interrupted_adaptation_resumes_to_the_same_weights(tmp_path, toy_data, monkeypatch):
    settings = AdaptMlmConfig(**FAST, cache=False, checkpoint_every=2)
    straight, _ = adapt_mlm(settings, _artifact(tmp_path, toy_data))

    class Interrupted(Exception):
        pass

    original = masked_lm.MaskedLanguageModeling.after_step

    def stop_at_five(self, step, total):
        if step == 5:
            raise Interrupted
        original(self, step, total)

    monkeypatch.setattr(masked_lm.MaskedLanguageModeling, "after_step", stop_at_five)
    with pytest.raises(Interrupted):
        adapt_mlm(settings, _artifact(tmp_path, toy_data, checkpoint_dir=tmp_path / "ckpt"))
    monkeypatch.setattr(masked_lm.MaskedLanguageModeling, "after_step", original)
    resumed, details = adapt_mlm(settings, _artifact(tmp_path, toy_data, checkpoint_dir=tmp_path / "ckpt", resume=True))
    assert details["resumed_at_step"] == 4
    for name, value in _encoder(straight.model).items():
        assert torch.allclose(value, _encoder(resumed.model)[name], atol=1e-6), name


def test_masking_keeps_special_tokens_and_padding_and_is_seeded(tmp_path):
    tokenizer = tiny_tokenizer(tmp_path / "vocab")
    batch = tokenizer(["alpha beta gamma delta river stone", "cloud"], padding=True, return_tensors="pt")
    ids, mask = batch["input_ids"].repeat(50, 1), batch["attention_mask"].repeat(50, 1)
    masked, labels = masked_lm.mask_batch(ids, mask, tokenizer, 0.5, seed=3)
    special = masked_lm.special_positions(ids, mask, tokenizer)
    assert (labels[special] == -100).all() and torch.equal(masked[special], ids[special])
    chosen = labels != -100
    assert 0.35 < chosen[~special].float().mean() < 0.65 and torch.equal(labels[chosen], ids[chosen])
    assert (masked[chosen] == tokenizer.mask_token_id).float().mean() > 0.6
    again, _ = masked_lm.mask_batch(ids, mask, tokenizer, 0.5, seed=3)
    other, _ = masked_lm.mask_batch(ids, mask, tokenizer, 0.5, seed=4)
    assert torch.equal(masked, again) and not torch.equal(masked, other)


def test_too_little_text_is_a_one_line_error(tmp_path, toy_data):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("alpha beta\n\n  \ngamma\n")
    with pytest.raises(CompressError, match="2 text"):
        adapt_mlm(AdaptMlmConfig(corpus=corpus, include_training_split=False), _artifact(tmp_path, toy_data))
    with pytest.raises(CompressError, match="corpus not found"):
        adapt_mlm(AdaptMlmConfig(corpus=tmp_path / "missing.txt"), _artifact(tmp_path, toy_data))


def test_a_recipe_adapts_on_a_corpus_between_vocabulary_transfer_and_finetuning(
    tiny_classifier_dir, toy_data, tmp_path
):
    from compress.testing import make_rows

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(text for text, _ in make_rows(60, seed=7)))
    out = tmp_path / "out"
    recipe = (
        f"name: mlm\npasses:\n  - vocab_transfer: {{vocab_size: 200, min_frequency: 1}}\n"
        f"  - adapt_mlm: {{corpus: {corpus}, epochs: 1, batch_size: 16, heldout_lines: 8}}\n"
        f"  - finetune: {{epochs: 1}}\n"
        "benchmark: {rounds: 2, min_iterations: 4, min_seconds: 0.05, warmup: 1, bootstrap: 50, memory: false}\n"
    )
    assert run_inline_recipe(recipe, tiny_classifier_dir, toy_data, out) == 0
    details = json.loads((out / "report.json").read_text())["passes"][1]["details"]
    assert details["texts"] == {"train": 60 + 81 - 8, "heldout": 8} and len(details["heldout_mlm_loss"]) == 2
    training_rows = [line for line in (out / "report.md").read_text().splitlines() if line.startswith("| adapt_mlm |")]
    assert len(training_rows) == 1  # the report's training table renders the adaptation like any training pass
