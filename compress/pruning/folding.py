"""Physical removal ("fold"): drop attention heads and FFN neurons that compute nothing, exactly.

A head contributes nothing when its columns of the attention output projection are zero: it
is dropped. A head whose value rows are zero outputs its value bias whatever it attends to
(attention weights sum to one): that constant goes into the output bias and the head is
dropped. Likewise an FFN neuron with a zero output column is dropped, and one with a zero input
row outputs act(bias), a constant folded into the output bias. Every rule is exact, so the
folded model computes what the masked one did; surviving heads keep their zeros as ordinary,
trainable weights (re-densified).

The per-layer sizes are recorded in `config.compress_layout`; `load_pruned` rebuilds the
smaller modules and loads the weights, since `from_pretrained` expects uniform layers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from compress.architectures import architecture, encoder_layers
from compress.errors import CompressError

LAYOUT_KEY = "compress_layout"


def foldable_architecture(model: Any, what: str = "fold") -> Any:
    """The model's row of the architecture table, if its heads can be removed per layer."""
    arch = architecture(model.config.model_type)
    if arch.self_attention is None:
        raise CompressError(f"{what}: {model.config.model_type} attention cannot be shrunk per layer yet")
    return arch


def fold(model: torch.nn.Module) -> dict[str, Any]:
    """Shrink `model` in place; return what was removed per layer."""
    arch = foldable_architecture(model)
    activation = _activation(model)
    removed: dict[str, list[Any]] = {"heads": [], "neurons": []}
    with torch.no_grad():
        for layer in encoder_layers(model):
            attention = layer.get_submodule(arch.self_attention)
            query, key, value = (layer.get_submodule(n) for n in (arch.query, arch.key, arch.value))
            output = layer.get_submodule(arch.attention_output)
            size = attention.attention_head_size
            heads = range(attention.num_attention_heads)
            keep_heads = [
                h for h in heads if not _absorb_if_idle(output, value, slice(h * size, (h + 1) * size), lambda x: x)
            ]
            keep_heads = keep_heads or [0]  # a layer keeps one (idle, absorbed) head so shapes stay valid
            rows = torch.cat([torch.arange(h * size, (h + 1) * size) for h in keep_heads])
            for name, linear in zip((arch.query, arch.key, arch.value), (query, key, value), strict=False):
                _replace(layer, name, _take(linear, rows=rows))
            _replace(layer, arch.attention_output, _take(output, cols=rows))
            removed["heads"].append(len(heads) - len(keep_heads))
            attention.num_attention_heads = len(keep_heads)
            attention.all_head_size = len(keep_heads) * size

            ffn_in, ffn_out = layer.get_submodule(arch.ffn_in), layer.get_submodule(arch.ffn_out)
            neurons = range(ffn_in.out_features)
            keep = [j for j in neurons if not _absorb_if_idle(ffn_out, ffn_in, slice(j, j + 1), activation)] or [0]
            index = torch.tensor(keep)
            _replace(layer, arch.ffn_in, _take(ffn_in, rows=index))
            _replace(layer, arch.ffn_out, _take(ffn_out, cols=index))
            removed["neurons"].append(len(neurons) - len(keep))
    setattr(model.config, LAYOUT_KEY, layout(model))
    return removed


def silence_sparse_heads(model: torch.nn.Module, threshold: float) -> list[int]:
    """Zero the output columns of heads that keep at most `threshold` of their attention weights
    (Q/K/V rows and O columns together), so `fold` drops them. Unlike `fold` this changes what
    the model computes: follow it with `distill`. Returns the heads silenced per layer."""
    arch = architecture(model.config.model_type)
    silenced = []
    with torch.no_grad():
        for layer in encoder_layers(model):
            attention = layer.get_submodule(arch.self_attention)
            size = attention.attention_head_size
            rows_of = [layer.get_submodule(n).weight for n in (arch.query, arch.key, arch.value)]
            output = layer.get_submodule(arch.attention_output).weight
            count = 0
            for h in range(attention.num_attention_heads):
                part = slice(h * size, (h + 1) * size)
                if not output[:, part].any():
                    continue  # already idle: fold drops it exactly
                blocks = [w[part] for w in rows_of] + [output[:, part]]
                kept = sum(int(b.count_nonzero()) for b in blocks) / sum(b.numel() for b in blocks)
                if 0 < kept <= threshold:
                    output[:, part] = 0
                    count += 1
            silenced.append(count)
    return silenced


def layout(model: torch.nn.Module) -> dict[str, list[int]]:
    """Heads and FFN width per layer."""
    arch = architecture(model.config.model_type)
    layers = encoder_layers(model)
    return {
        "heads": [layer.get_submodule(arch.self_attention).num_attention_heads for layer in layers],
        "intermediate": [layer.get_submodule(arch.ffn_in).out_features for layer in layers],
    }


def load_pruned(path: str | Path, dtype: torch.dtype | str = torch.float32, **kwargs: Any) -> torch.nn.Module:
    """Load a classifier saved by compress, folded or not: `model = load_pruned("out/model")`.
    Weights come in fp32, like `from_pretrained`'s default; `dtype="auto"` keeps the stored dtype."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(path, trust_remote_code=False)
    shape = getattr(config, LAYOUT_KEY, None)
    if not shape:
        return AutoModelForSequenceClassification.from_pretrained(
            path, dtype=dtype, use_safetensors=True, trust_remote_code=False, **kwargs
        )
    model = AutoModelForSequenceClassification.from_config(config, trust_remote_code=False)
    resize(model, shape)
    files = sorted(Path(path).glob("*.safetensors"))
    state: dict[str, torch.Tensor] = {}
    for file in files:
        state.update(load_file(file))
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise CompressError(
            f"{path}: weights do not match the recorded layout (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    if dtype == "auto":
        dtype = next((t.dtype for t in state.values() if t.is_floating_point()), torch.float32)
    return model.to(dtype).eval()


def resize(model: torch.nn.Module, shape: dict[str, list[int]]) -> None:
    """Give each layer the recorded number of heads and FFN width (weights are loaded after)."""
    arch = architecture(model.config.model_type)
    for layer, heads, width in zip(encoder_layers(model), shape["heads"], shape["intermediate"], strict=False):
        attention = layer.get_submodule(arch.self_attention)
        rows = torch.arange(heads * attention.attention_head_size)
        for name in (arch.query, arch.key, arch.value):
            _replace(layer, name, _take(layer.get_submodule(name), rows=rows))
        _replace(layer, arch.attention_output, _take(layer.get_submodule(arch.attention_output), cols=rows))
        attention.num_attention_heads, attention.all_head_size = heads, len(rows)
        index = torch.arange(width)
        _replace(layer, arch.ffn_in, _take(layer.get_submodule(arch.ffn_in), rows=index))
        _replace(layer, arch.ffn_out, _take(layer.get_submodule(arch.ffn_out), cols=index))


def _absorb_if_idle(consumer: torch.nn.Linear, producer: torch.nn.Linear, part: slice, activation) -> bool:
    """True if `part` of the producer's outputs can go: it feeds zeros, or a constant now in the bias."""
    columns = consumer.weight[:, part]
    if not columns.any():
        return True
    if producer.weight[part].any():
        return False
    constant = activation(producer.bias[part]) if producer.bias is not None else torch.zeros(columns.shape[1])
    if consumer.bias is None:
        return not constant.any()
    consumer.bias += columns @ constant.to(columns.dtype)
    return True


@torch.no_grad()
def _take(
    linear: torch.nn.Linear, rows: torch.Tensor | None = None, cols: torch.Tensor | None = None
) -> torch.nn.Linear:
    weight = linear.weight.detach()
    weight = weight[rows] if rows is not None else weight
    weight = weight[:, cols] if cols is not None else weight
    smaller = torch.nn.Linear(
        weight.shape[1], weight.shape[0], bias=linear.bias is not None, device=weight.device, dtype=weight.dtype
    )
    smaller.weight.copy_(weight)
    if linear.bias is not None:
        smaller.bias.copy_(linear.bias.detach()[rows] if rows is not None else linear.bias.detach())
    return smaller


def _replace(layer: torch.nn.Module, name: str, module: torch.nn.Module) -> None:
    parent, _, leaf = name.rpartition(".")
    setattr(layer.get_submodule(parent) if parent else layer, leaf, module)


def _activation(model: torch.nn.Module):
    from transformers.activations import ACT2FN

    return ACT2FN[getattr(model.config, "hidden_act", "gelu")]
