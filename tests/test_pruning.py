"""Block movement pruning: masks, schedule, and fold checked against the masked model."""

from __future__ import annotations

import itertools

import pytest
import torch
from conftest import run_args, tiny_model

from compress.architectures import encoder_layers
from compress.pruning.folding import fold, layout, load_pruned
from compress.pruning.masks import ScoreMask
from compress.pruning.movement import MovementHook
from compress.pruning.options import MovementOptions
from compress.pruning.schedule import cubic

BLOCK = (8, 8)  # tiny models: hidden 32, 4 heads of 8


def logits(model, ids):
    with torch.no_grad():
        return model.eval()(input_ids=ids, attention_mask=torch.ones_like(ids)).logits


def test_cubic_schedule_holds_then_moves_then_holds():
    values = [cubic(s, 100, 10, 20, 1.0, 0.25) for s in range(101)]
    assert values[0] == values[10] == 1.0 and values[80] == values[100] == pytest.approx(0.25)
    assert all(a >= b for a, b in itertools.pairwise(values))
    assert values[20] - values[30] > values[60] - values[70]  # fast first, slow at the end


def test_hard_mask_keeps_the_top_fraction_and_passes_gradients_to_scores():
    mask = ScoreMask((4, 4), "hard", 0.0)
    with torch.no_grad():
        mask.scores.copy_(torch.arange(16.0).view(4, 4))
    mask.keep = 0.25
    binary = mask.binary()
    assert binary.sum() == 4 and binary.flatten()[-4:].sum() == 4
    (mask.forward_mask() * torch.full((4, 4), 2.0)).sum().backward()
    assert torch.equal(mask.scores.grad, torch.full((4, 4), 2.0))  # straight through, for pruned blocks too


def test_soft_mask_thresholds_sigmoid_scores():
    mask = ScoreMask((2, 2), "soft", 0.0)
    with torch.no_grad():
        mask.scores.copy_(torch.tensor([[-3.0, 3.0], [0.5, -0.5]]))
    mask.threshold = 0.5
    assert mask.binary().tolist() == [[0.0, 1.0], [1.0, 0.0]]


@pytest.mark.parametrize("ranking", ["global", "per_matrix"])
def test_hard_ranking_meets_the_sparsity_globally_or_per_matrix(ranking):
    """Attention scores are low, FFN scores high, one query head high: a global cutoff takes the
    whole 30% from attention and keeps that head; a per-matrix top-k thins every matrix alike."""
    model = tiny_model("bert", ["a", "b", "c"])
    hook = MovementHook(model, MovementOptions(sparsity=0.3, block=BLOCK, ranking=ranking))
    torch.manual_seed(0)
    with torch.no_grad():
        for mask in hook.masks:
            low = mask.scores.shape[1] != 1  # attention grids are (4, 4); FFN grids are (64, 1)
            mask.scores.copy_(torch.randn(mask.scores.shape) - (5.0 if low else 0.0))
        hook.masks[0].scores[1] += 20.0  # layer 0, query rows of head 1
    hook.after_step(100, 100)
    assert hook.sparsity() == pytest.approx(0.3, abs=0.02)
    attention = [mask.density() for mask in hook.masks if mask.scores.shape[1] != 1]
    ffn = [mask.density() for mask in hook.masks if mask.scores.shape[1] == 1]
    if ranking == "global":  # attention and FFN hold 8192 prunable weights each: 60% of attention goes
        assert ffn == [1.0, 1.0] and sum(attention) / len(attention) == pytest.approx(0.4, abs=0.04)
        assert hook.masks[0].binary()[1].sum() == 4
    else:
        assert all(d == pytest.approx(0.7, abs=0.07) for d in attention + ffn)


def test_restoring_an_earlier_epoch_places_the_global_cutoff_again():
    """The loop may load back an earlier epoch's scores; the masks must then be that epoch's,
    at the final sparsity, not the last epoch's cutoff applied to other scores."""
    model = tiny_model("bert", ["a", "b"])
    hook = MovementHook(model, MovementOptions(sparsity=0.5, block=BLOCK))
    torch.manual_seed(0)
    with torch.no_grad():
        for mask in hook.masks:
            mask.scores.copy_(torch.randn(mask.scores.shape))
    hook.after_step(100, 100)
    with torch.no_grad():  # the best epoch's scores, loaded back: all lower than the last epoch's
        for mask in hook.masks:
            mask.scores.sub_(1.0)
    assert hook.sparsity() > 0.6
    hook.after_restore()
    assert hook.sparsity() == pytest.approx(0.5, abs=0.02)


def test_head_units_are_ranked_per_weight_and_fold_exactly():
    """A head (1024 weights) scoring 0.5 per weight goes before FFN neurons (64 weights) scoring
    0.9 per weight, although its raw score is far higher; the cut heads fold away exactly."""
    model = tiny_model("bert", ["a", "b", "c"])
    hook = MovementHook(model, MovementOptions(sparsity=0.125, attention_unit="head"))
    per_weight = {0: [2.0, 0.5, 2.0, 2.0], 1: [2.0, 2.0, 2.0, 0.5]}
    with torch.no_grad():
        heads = [mask for mask in hook.masks if mask.scores.shape == (4, 1)]
        neurons = [mask for mask in hook.masks if mask.scores.shape != (4, 1)]
        for layer, mask in enumerate(heads):
            mask.scores.copy_(torch.tensor(per_weight[layer]).view(4, 1) * mask.unit_size)
        for mask in neurons:
            mask.scores.fill_(0.9 * mask.unit_size)
    hook.after_step(100, 100)
    assert hook.sparsity() == pytest.approx(0.125)
    assert [mask.binary().flatten().tolist() for mask in heads] == [[1, 0, 1, 1], [1, 1, 1, 0]]
    ids = torch.randint(5, 60, (3, 9))
    hook.bake(model)
    masked = logits(model, ids)
    assert fold(model)["heads"] == [1, 1]
    assert layout(model) == {"heads": [3, 3], "intermediate": [64, 64]}
    assert torch.allclose(logits(model, ids), masked, atol=1e-5)


@pytest.mark.parametrize("arch", ["bert", "roberta"])
def test_masked_training_sparsity_and_fold_give_the_same_logits(arch, tmp_path):
    model = tiny_model(arch, ["a", "b", "c"])
    hook = MovementHook(model, MovementOptions(sparsity=0.5, block=BLOCK))
    generator = torch.Generator().manual_seed(0)
    for mask in hook.masks:
        with torch.no_grad():
            mask.scores.copy_(torch.randn(mask.scores.shape, generator=generator))
    hook.after_step(100, 100)  # end of schedule: final sparsity
    assert hook.sparsity() == pytest.approx(0.5, abs=0.02)
    # make whole structures idle: layer 0 head 1 (output columns) and head 2 (value rows), ten neurons
    layer = encoder_layers(model)[0]
    ids = torch.randint(5, 60, (3, 9))
    hook.bake(model)
    with torch.no_grad():
        layer.attention.output.dense.weight[:, 8:16] = 0
        layer.attention.self.value.weight[16:24] = 0
        layer.intermediate.dense.weight[:10] = 0
    masked = logits(model, ids)

    removed = fold(model)
    assert removed["heads"][0] >= 2 and removed["neurons"][0] >= 10
    assert layout(model)["intermediate"][0] < 64
    assert torch.allclose(logits(model, ids), masked, atol=1e-5)

    model.save_pretrained(tmp_path / "folded")
    reloaded = load_pruned(tmp_path / "folded")
    assert layout(reloaded) == model.config.compress_layout
    assert torch.allclose(logits(reloaded, ids), masked, atol=1e-5)

    model.to(torch.bfloat16).save_pretrained(tmp_path / "folded-bf16")  # as the precision pass leaves it
    assert next(load_pruned(tmp_path / "folded-bf16").parameters()).dtype == torch.float32  # like from_pretrained
    assert next(load_pruned(tmp_path / "folded-bf16", dtype="auto").parameters()).dtype == torch.bfloat16


def test_fold_of_an_unpruned_model_changes_nothing():
    model = tiny_model("bert", ["a", "b"])
    ids = torch.randint(5, 60, (2, 6))
    before = logits(model, ids)
    removed = fold(model)
    assert removed == {"heads": [0, 0], "neurons": [0, 0]}
    assert torch.allclose(logits(model, ids), before)


def test_movement_scores_train_and_masks_follow_the_schedule(toy_data, tmp_path):
    from conftest import tiny_tokenizer

    from compress.batching import encode
    from compress.data import load_task_data
    from compress.training.loop import train
    from compress.training.settings import RunContext, TrainingOptions

    data = load_task_data(str(toy_data))
    tokenizer = tiny_tokenizer(tmp_path / "v")
    model = tiny_model("bert", list(data.label_map.names), vocab_size=len(tokenizer))
    hook = MovementHook(model, MovementOptions(sparsity=0.5, block=BLOCK, warmup_ratio_pruning=0.1, cooldown_ratio=0.3))
    splits = [(encode(tokenizer, s.texts, 32), s.labels) for s in (data.train, data.selection)]
    result = train(
        model,
        *splits,
        TrainingOptions(epochs=4, batch_size=16, learning_rate=1e-3, track_energy=False),
        RunContext(progress=False),
        [hook],
    )
    assert hook.sparsity() == pytest.approx(0.5, abs=0.02)
    # 6 steps an epoch, 24 in all, cool-down from step 17: epochs 1-2 are denser and may not be chosen
    assert result.best_epoch in (3, 4)
    assert any(mask.scores.abs().sum() > 0 for mask in hook.masks)


def test_prune_kd_int8_recipe_end_to_end(tiny_classifier_dir, toy_data, tmp_path):
    import json

    from conftest import FAST_BENCH, REPO

    from compress.cli import main

    out = tmp_path / "out"
    overrides = [
        "passes.0.block_movement.block=[8, 8]",
        "passes.0.block_movement.epochs=3",
        "passes.0.block_movement.sparsity=0.5",
        "passes.0.block_movement.track_energy=false",
        "passes.2.distill.epochs=1",
        "passes.2.distill.track_energy=false",
        "passes.4.quantize.min_agreement=0",
        *FAST_BENCH,
    ]
    argv = run_args(str(REPO / "recipes" / "prune25-kd-int8.yaml"), str(tiny_classifier_dir), str(toy_data), str(out))
    assert main(argv + [a for item in overrides for a in ("--set", item)]) == 0
    report = json.loads((out / "report.json").read_text())
    movement, folded = report["passes"][0]["details"], report["passes"][1]["details"]
    assert movement["masked_fraction"] == pytest.approx(0.5, abs=0.02)
    assert folded["encoder_linear_parameters"][1] < folded["encoder_linear_parameters"][0]
    assert [c["name"] for c in report["benchmark"]["candidates"]][:3] == [
        "pytorch fp32",
        "onnx-fp32",
        "onnx-int8-dynamic",
    ]
    assert (out / "structure.png").is_file()
    reloaded = load_pruned(out / "model")
    assert layout(reloaded) == folded["layout"]
    assert "## Pruning" in (out / "report.md").read_text()


@pytest.mark.parametrize("importance", ["magnitude", "taylor"])
def test_structured_prune_removes_the_asked_share_and_folds(make_artifact_for_pruning, importance):
    from compress.passes.structured_prune import StructuredPruneConfig, structured_prune

    artifact = make_artifact_for_pruning()
    result, details = structured_prune(StructuredPruneConfig(heads=0.5, neurons=0.25, importance=importance), artifact)
    assert sum(details["layout"]["heads"]) == 4  # of 8 heads in two layers
    assert sum(details["layout"]["intermediate"]) == 128 - 32
    assert details["encoder_flops_reduction"] > 0
    ids = torch.randint(5, 40, (2, 7))
    assert torch.isfinite(logits(result.model, ids)).all()


@pytest.fixture
def make_artifact_for_pruning(tmp_path, toy_data):
    from conftest import tiny_tokenizer

    from compress.artifact import Artifact
    from compress.data import load_task_data

    def make():
        data = load_task_data(str(toy_data))
        tokenizer = tiny_tokenizer(tmp_path / "v")
        model = tiny_model("bert", list(data.label_map.names), vocab_size=len(tokenizer))
        return Artifact(model, tokenizer, data, tmp_path, 32, 0)

    return make


def test_nearly_empty_heads_are_silenced_only_under_the_threshold():
    from compress.pruning.folding import silence_sparse_heads

    model = tiny_model("bert", ["a", "b"])
    layer = encoder_layers(model)[0]
    with torch.no_grad():  # head 3 of layer 0 keeps one row of each of Q, K, V and nothing of O: 3/32 of its weights
        for linear in (layer.attention.self.query, layer.attention.self.key, layer.attention.self.value):
            linear.weight[25:32] = 0
        layer.attention.output.dense.weight[:, 24:32] = 0
    assert silence_sparse_heads(model, 0.05) == [0, 0]
    assert silence_sparse_heads(model, 0.10) == [0, 0]  # already silent: O is zero, fold drops it exactly
    with torch.no_grad():
        layer.attention.output.dense.weight[0, 24] = 1.0  # one weight of O back: 97 of 1024 weights kept
    assert silence_sparse_heads(model, 0.05) == [0, 0]
    assert silence_sparse_heads(model, 0.15) == [1, 0]
    assert fold(model)["heads"] == [1, 0]


def test_fusion_of_a_model_with_uneven_heads_is_exact(make_artifact_for_pruning, tmp_path):
    """onnxruntime's fusion reads the head count from each layer's graph; after fold the layers
    differ (here 1 and 4 heads). Peaked attention (scaled q, k) makes a wrong count visible:
    it moves the logits by ~1e-4, against ~1e-8 for an exact fusion."""
    from compress.onnx_tools import compare_with_torch, fuse_transformer_graph
    from compress.passes.export_onnx import ExportOnnxConfig, export_onnx
    from compress.passes.quantize import QuantizeConfig, quantize

    artifact = make_artifact_for_pruning()
    with torch.no_grad():
        for layer in encoder_layers(artifact.model):
            layer.attention.self.query.weight *= 30
            layer.attention.self.key.weight *= 30
        encoder_layers(artifact.model)[0].attention.output.dense.weight[:, 8:] = 0  # layer 0 keeps head 0
    assert fold(artifact.model)["heads"] == [3, 0]
    exported, _ = export_onnx(ExportOnnxConfig(validation_examples=32), artifact)
    fused = tmp_path / "fused.onnx"
    assert fuse_transformer_graph(exported.onnx["onnx-fp32"], fused, "bert")["Attention"] == 2
    assert compare_with_torch(exported, fused, 32)["max_abs_diff"] < 1e-6
    _, details = quantize(QuantizeConfig(fuse=True, validation_examples=32, min_agreement=0), exported)
    assert details["fused_operators"]["Attention"] == 2 and details["fusion_check"]["max_abs_diff"] < 1e-6


def test_taylor_head_importance_reads_the_gradient_of_the_head_s_own_columns():
    """A slice of a weight has no .grad of its own: reading it there scored every head 0."""
    from compress.passes.structured_prune import _head_importance

    weight = torch.nn.Parameter(torch.ones(2, 4))
    weight.grad = torch.tensor([[1.0, -3.0, 0.0, 0.0], [1.0, -3.0, 0.0, 0.5]])
    assert _head_importance(weight, slice(0, 2), "taylor") == pytest.approx(4.0)
    assert _head_importance(weight, slice(2, 4), "taylor") == pytest.approx(0.5)
    assert _head_importance(weight, slice(0, 2), "magnitude") == pytest.approx(2.0)
