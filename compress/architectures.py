"""Where things live inside each supported encoder: the one table of architecture knowledge.

Passes never hard-code module names; they ask here. Adding an architecture means adding
one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compress.errors import CompressError


@dataclass(frozen=True)
class Architecture:
    layers: str  # dotted path from the classifier to the ModuleList of encoder layers
    layer_count: str  # config field holding the number of layers
    query: str  # module names inside one layer
    key: str
    value: str
    attention_output: str
    ffn_in: str
    ffn_out: str
    self_attention: str | None = None  # module with num_attention_heads/all_head_size, where fold can shrink it
    onnx_fusion: str = "bert"  # model_type for onnxruntime.transformers' fusions (its "bert" covers all rows here)


_BERT_LIKE = dict(
    query="attention.self.query",
    key="attention.self.key",
    value="attention.self.value",
    attention_output="attention.output.dense",
    ffn_in="intermediate.dense",
    ffn_out="output.dense",
    self_attention="attention.self",
)

ARCHITECTURES: dict[str, Architecture] = {
    "bert": Architecture("bert.encoder.layer", "num_hidden_layers", **_BERT_LIKE),
    "roberta": Architecture("roberta.encoder.layer", "num_hidden_layers", **_BERT_LIKE),
    "xlm-roberta": Architecture("roberta.encoder.layer", "num_hidden_layers", **_BERT_LIKE),
    "distilbert": Architecture(
        "distilbert.transformer.layer",
        "n_layers",
        query="attention.q_lin",
        key="attention.k_lin",
        value="attention.v_lin",
        attention_output="attention.out_lin",
        ffn_in="ffn.lin1",
        ffn_out="ffn.lin2",
    ),
}


def architecture(model_type: str) -> Architecture:
    try:
        return ARCHITECTURES[model_type]
    except KeyError:
        raise CompressError(
            f"architecture {model_type!r} is not supported by this pass (supported: {', '.join(sorted(ARCHITECTURES))})"
        ) from None


def encoder_layers(model: Any) -> Any:
    node = model
    for part in architecture(model.config.model_type).layers.split("."):
        node = getattr(node, part)
    return node


def lora_targets(model_type: str) -> list[str]:
    """Every linear layer of attention and feed-forward; peft matches these as name suffixes (not the pooler)."""
    arch = architecture(model_type)
    return [arch.query, arch.key, arch.value, arch.attention_output, arch.ffn_in, arch.ffn_out]


KEPT_LAYERS_KEY = "compress_kept_layers"  # in config.json: which of the original encoder layers a model kept


def keep_encoder_layers(model: Any, layers: list[int] | tuple[int, ...]) -> Any:
    """A deep copy of `model` that keeps only these encoder layers, in order; it saves and reloads
    as a normal model, and its config records which original layers it kept (for layer maps)."""
    import copy

    import torch

    arch = architecture(model.config.model_type)
    available = len(encoder_layers(model))
    if not layers or max(layers) >= available or min(layers) < 0 or list(layers) != sorted(set(layers)):
        raise CompressError(f"layers {list(layers)}: give distinct increasing indices below {available}")
    kept = copy.deepcopy(model)
    parent_path, _, name = arch.layers.rpartition(".")
    parent = kept.get_submodule(parent_path)
    modules = torch.nn.ModuleList([getattr(parent, name)[i] for i in layers])
    for new_index, layer in enumerate(modules):  # attention modules that know their index must agree
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                setattr(module, "layer_idx", new_index)  # noqa: B010  (torch types attributes as Tensor | Module)
    setattr(parent, name, modules)
    setattr(kept.config, arch.layer_count, len(layers))
    original = getattr(model.config, KEPT_LAYERS_KEY, None) or list(range(available))
    setattr(kept.config, KEPT_LAYERS_KEY, [original[i] for i in layers])
    return kept


def evenly_spaced(available: int, keep: int) -> list[int]:
    """`keep` of `available` layers, evenly spaced from the first: 3 of 6 -> [0, 2, 4]."""
    if not 1 <= keep <= available:
        raise CompressError(f"keep {keep} layers of {available}: give 1 to {available}")
    return [i * available // keep for i in range(keep)]
