"""`structured_prune`: one-shot removal of whole heads and FFN neurons, the baseline to beat.

Importance is magnitude (norm of a head's output-projection columns; product of a neuron's
input-row and output-column norms) or first-order Taylor (|sum of w * dL/dw| over those
weights, on a few training batches). The least important heads and neurons, ranked across all
layers, are zeroed and removed by `fold`; a layer keeps at least one of each. Follow with
`distill` to recover accuracy.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from compress.artifact import Artifact
from compress.errors import CompressError
from compress.passes.base import PassConfig, Stage, register


class StructuredPruneConfig(PassConfig):
    heads: float = Field(0.25, ge=0, lt=1, description="fraction of attention heads to remove")
    neurons: float = Field(0.25, ge=0, lt=1, description="fraction of FFN neurons to remove")
    importance: Literal["magnitude", "taylor"] = "taylor"
    taylor_batches: int = Field(8, ge=1)
    batch_size: int = Field(16, ge=1)


@register(
    "structured_prune", StructuredPruneConfig, Stage.TORCH, "one-shot head/neuron removal by importance, then fold"
)
def structured_prune(config: StructuredPruneConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    import torch

    from compress.architectures import encoder_layers
    from compress.pruning.folding import fold, foldable_architecture
    from compress.pruning.structure import StructureChange

    model = artifact.model
    arch = foldable_architecture(model, "structured_prune")
    if config.importance == "taylor":
        _accumulate_gradients(model, artifact, config)
    head_scores, neuron_scores = [], []
    for index, layer in enumerate(encoder_layers(model)):
        output, ffn_in, ffn_out = (layer.get_submodule(n) for n in (arch.attention_output, arch.ffn_in, arch.ffn_out))
        size = layer.get_submodule(arch.self_attention).attention_head_size
        for head in range(output.in_features // size):
            part = slice(head * size, (head + 1) * size)
            head_scores.append((_head_importance(output.weight, part, config.importance), index, part))
        per_neuron = _neuron_importance(ffn_in, ffn_out, config.importance)
        neuron_scores += [(float(s), index, slice(j, j + 1)) for j, s in enumerate(per_neuron)]

    def shrink() -> dict[str, Any]:
        """Zero the least important heads' and neurons' weights, ranked across layers, then fold them away."""
        with torch.no_grad():
            for scores, fraction, name in (
                (head_scores, config.heads, arch.attention_output),
                (neuron_scores, config.neurons, arch.ffn_out),
            ):
                layers = encoder_layers(model)
                per_layer = {i: sum(1 for _, j, _ in scores if j == i) for i in range(len(layers))}
                target, done = int(len(scores) * fraction), 0
                for _, index, part in sorted(scores, key=lambda item: item[0]):
                    if done == target:
                        break
                    if per_layer[index] > 1:  # every layer keeps at least one head and one neuron
                        layers[index].get_submodule(name).weight[:, part] = 0
                        per_layer[index] -= 1
                        done += 1
        model.zero_grad(set_to_none=True)
        return fold(model)

    change = StructureChange.measure(model, shrink)
    return replace(artifact, model_changed=True), {"importance": config.importance, **change.details()}


def _head_importance(weight: Any, part: slice, kind: str) -> float:
    """A head's columns of the attention output: their norm, or |sum of weight x gradient|
    (first-order Taylor). The gradient is the full weight's, sliced: a slice of the weight is a
    new tensor that has no gradient of its own."""
    if kind == "magnitude":
        return float(weight.detach()[:, part].norm())
    if weight.grad is None:
        raise CompressError("structured_prune: no gradients for Taylor importance (no training batches?)")
    return float((weight.detach()[:, part] * weight.grad[:, part]).sum().abs())


def _neuron_importance(ffn_in: Any, ffn_out: Any, kind: str) -> Any:
    if kind == "magnitude":
        return ffn_in.weight.detach().norm(dim=1) * ffn_out.weight.detach().norm(dim=0)
    return (ffn_out.weight.detach() * ffn_out.weight.grad).sum(dim=0).abs()


def _accumulate_gradients(model: Any, artifact: Artifact, config: StructuredPruneConfig) -> None:
    """Task-loss gradients over a few training batches, for first-order (Taylor) importance."""
    import torch

    from compress.batching import batches, encode

    encoded = encode(artifact.tokenizer, artifact.data.train.texts, artifact.max_length)
    model.eval()
    model.zero_grad(set_to_none=True)
    for count, (rows, batch) in enumerate(batches(encoded, config.batch_size, shuffle=True, seed=artifact.seed)):
        if count == config.taylor_batches:
            break
        inputs = {k: torch.from_numpy(v) for k, v in batch.items()}
        model(**inputs, labels=torch.from_numpy(artifact.data.train.labels[rows])).loss.backward()
